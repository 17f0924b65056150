"""Render a promote: each step as it starts and ends, the preview, waits, and the outcome.

`PlanView` is the Observer the plan talks to; `show_outcome` prints the end (or the JSON
document of the whole plan). People's output goes to stdout, or stderr under --json.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.status import Status

from failover.interactive import ask_go_abort
from failover.promote.plan import (
    Outcome,
    Plan,
    PromoteRequest,
    Step,
    durations_text,
    failure_document,
)
from failover.render import human_console, print_json

MARKS = {"done": "[green]✓[/]", "skipped": "[dim]-[/]", "would run": "[cyan]»[/]",
         "failed": "[red]✗[/]", "refused": "[red]✗[/]", "interrupted": "[yellow]![/]",
         "running": "[blue]…[/]", "pending": " "}
"""The mark shown before a step, by its status."""


class PlanView:
    """Shows a promote as it goes; implements failover.promote.plan.Observer."""

    def __init__(self, *, as_json: bool, console: Console | None = None) -> None:
        self.console = console or human_console(as_json)
        self.as_json = as_json
        self._status: Status | None = None
        self._last_progress = 0.0
        self._total = 0

    def step_started(self, step: Step) -> None:
        """Say a step starts (a spinner line on a terminal)."""
        self._stop_status()
        if self.console.is_terminal:
            self._status = self.console.status(f"{escape(step.title)} ...")
            self._status.start()

    def step_finished(self, step: Step) -> None:
        """Print the step's line: mark, key, status, duration and summary (not the TTL
        chain's steps in a promote of one change: the JSON has them)."""
        from failover.promote.chain import NO_CHAIN

        if step.status == "skipped" and step.summary == NO_CHAIN:
            return
        self._stop_status()
        secs = f" ({step.seconds:.1f}s)" if step.seconds is not None else ""
        summary = f": {escape(step.summary)}" if step.summary else ""
        status = "" if step.status == "done" else f" [{_colour(step.status)}]{step.status}[/]"
        self.console.print(f"{MARKS.get(step.status, ' ')} [bold]{step.key}[/]{status}{secs}"
                           f"{summary}", highlight=False, soft_wrap=True)

    def progress(self, step: Step, text: str) -> None:
        """Show a long wait: update the spinner, or print a line at most every 10 seconds."""
        if self._status is not None:
            self._status.update(escape(text))
            return
        now = time.monotonic()
        if now - self._last_progress >= 10.0:
            self._last_progress = now
            self.console.print(f"  [dim]{escape(text)}[/]", highlight=False)

    def warn(self, text: str) -> None:
        """Print a warning line."""
        self._stop_status()
        self.console.print(f"[yellow]warning:[/] {escape(text)}", highlight=False)

    def confirm(self, question: str) -> None:
        """Ask go/abort on the terminal (GateRefused on abort or without a terminal)."""
        self._stop_status()
        ask_go_abort(question)

    def preview(self, plan: Plan) -> None:
        """Print what the run will do: health, sessions, diff, commit, push, deploy, DNS."""
        from failover.render.health import health_table

        self._stop_status()
        region = plan.name.kind == "region"
        name = plan.region.fqdn if region else plan.name.name
        parts: list[Any] = [f"[bold]{escape(name)}[/]: "
                            f"{escape(plan.current or plan.zone_target or '?')} -> "
                            f"[bold]{escape(plan.target.name)}[/] ({escape(plan.label)})"]
        if not region:  # each record, and each candidate's health by its kind
            parts += [f"  {escape(r.fqdn)} -> {escape(r.target(plan.target.name))}"
                      for r in plan.name.records]
            parts += [f"  {escape(n)}: {'healthy' if h.healthy else '[red]UNHEALTHY[/]'} "
                      f"({escape(h.checked)}: {escape(h.detail)})"
                      for n, h in plan.candidate_health.items()]
        if plan.health:
            if plan.name.region is not None:
                parts.append(health_table(plan.health, plan.name.region))
            if gate := planned_gate_line(plan):
                parts.append(escape(gate))
        if plan.sessions:
            total = sum(plan.sessions.values())
            per = ", ".join(f"{k} {v}" for k, v in plan.sessions.items() if v)
            who = escape(plan.current or "")
            parts.append(
                f"{who} holds {total} client session(s) ({escape(per)}): the two HAProxy share "
                "no session state (stick tables are local), so those clients reconnect to "
                f"{escape(plan.target.name)}." if total else
                f"{who} holds no client sessions now: no client has to reconnect.")
        from rich.syntax import Syntax  # Pygments: preloaded while the state step waits

        chain = plan.ttl_chain["changes"] if plan.ttl_chain else []
        for c in chain:  # a TTL chain: its three changes, each with its own diff
            parts.append(Panel(Syntax(c["diff"] or "(in Gerrit)\n", "diff", theme="ansi_dark"),
                               title=f"change {c['step']}/3: {escape(str(c['subject']))}",
                               title_align="left"))
        if plan.edit and plan.edit.diff and not chain:
            parts.append(Panel(Syntax(plan.edit.diff, "diff", theme="ansi_dark"),
                               title="zone change", title_align="left"))
        if plan.checks:
            parts.append(f"checked: {escape('; '.join(plan.checks))}")
        if plan.message:
            parts.append(Panel(escape(plan.message.rstrip()), title="commit message",
                               title_align="left"))
        push, push_step = plan.push, plan.step("push")
        if push_step.status == "skipped":
            parts.append(f"push:   none ({escape(push_step.summary)})")
        elif push:
            opts = " ".join(f"-o {o}" for o in push.get("options", []))
            parts.append(f"push:   git push {escape(str(push['remote']))} "
                         f"{escape(str(push['ref']))} {escape(opts)}")
        deploy = " ".join(plan.deploy) if plan.deploy else "(none configured: run it by hand)"
        parts.append(f"deploy: {escape(deploy)}")
        parts.append(f"verify: {escape(', '.join(plan.nameservers))}")
        parts += _outside_lines(plan)
        self.console.print(Group(*parts), highlight=False)

    def note(self, text: str) -> None:
        """Print something done beside the steps (a silence created, ...)."""
        self._stop_status()
        self.console.print(f"  {escape(text)}", highlight=False, soft_wrap=True)

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def planned_gate_line(plan: Plan) -> str:
    """Return what the preview says of the planned-maintenance gate (empty when it is moot)."""
    from failover.haproxy import depends_on

    target = plan.health.controllers.get(plan.target.name) if plan.health else None
    old = plan.current
    if target is None or not target.reachable or not old or old == plan.target.name:
        return ""
    leaning = depends_on(target, old)
    if leaning:
        return (f"without {old}'s own servers, {plan.target.name} has no usable server for: "
                f"{', '.join(leaning)}")
    return f"without {old}'s own servers, {plan.target.name} still has a usable server " \
           "for every service."

def _outside_lines(plan: Plan) -> list[str]:
    """Return the preview's lines for the SAL and the silence (what will be sent)."""
    from failover.alertmanager import matcher_text

    lines = [f"sal:    {escape(line)}" for line in plan.sal_planned]
    if plan.silence is not None:
        s = plan.silence
        lines.append(f"silence: {escape(', '.join(matcher_text(m) for m in s.matchers))} "
                     f"until {escape(s.ends_at)}, comment {escape(repr(s.comment))}")
    return lines


def _colour(status: str) -> str:
    return {"skipped": "dim", "would run": "cyan", "failed": "red", "refused": "red",
            "interrupted": "yellow"}.get(status, "white")


def show_failure(request: PromoteRequest, outcome: Outcome, error: str, exit_code: int) -> None:
    """Print the JSON document of a promote that failed before its plan existed.

    A bad argument or config (unknown region, bad --bug, no config file) has no plan: the
    document is an empty Plan's (`failure_document`): the same keys, those not known yet null.
    """
    print_json(failure_document(request, outcome, error, exit_code))


def show_outcome(plan: Plan, *, as_json: bool) -> None:
    """Print the end of a promote: the JSON document, or one line saying what happened."""
    if as_json:
        print_json(plan.to_dict())
        return
    console = human_console(False)
    r = plan.request
    if plan.outcome == "nothing to do":
        console.print(f"[green]nothing to do[/]: {escape(plan.region.fqdn)} already points at "
                      f"{escape(r.target)}")
    elif r.dry_run and plan.outcome == "done":
        console.print(f"[cyan]dry-run[/]: nothing was pushed, deployed or changed. Run without "
                      f"--dry-run to fail {escape(plan.region.fqdn)} over to {escape(r.target)}.")
    elif plan.outcome == "stopped":
        found = plan.step("push").status == "skipped"
        console.print(f"[cyan]{'found the open change' if found else 'pushed'}[/] "
                      f"{escape(plan.change_url or '')}; stopped (--no-wait). "
                      f"Run `failover promote {r.region} {r.target}` again to follow it, "
                      "deploy and verify.")
    elif plan.outcome == "done":
        took = durations_text(plan.durations)
        console.print(f"[green]done[/]: {escape(plan.region.fqdn)} -> {escape(r.target)} "
                      f"({escape(plan.change_url or 'change merged before this run')}); "
                      "every nameserver answers the new target"
                      + (f" ({escape(took)})." if took else "."))
    sys.stdout.flush()
