"""One promote: the plan as data (`plan`), the decision (`decide`), the commit text
(`message`), the steps (`steps`), the walk (`run`) and stopping it cleanly (`signals`)."""

from failover.promote.plan import Observer, Plan, PromoteRequest, QuietObserver, Step
from failover.promote.run import Promotion
from failover.signals import interrupt_on_sigterm

__all__ = ["Observer", "Plan", "PromoteRequest", "Promotion", "QuietObserver", "Step",
           "interrupt_on_sigterm"]
