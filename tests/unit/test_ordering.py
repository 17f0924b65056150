"""The order the modules go to the parallel workers (tests/ordering.py): the longest first."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests import ordering


@dataclass
class FakeItem:
    nodeid: str


def ids(items: list[Any]) -> list[str]:
    return [item.nodeid for item in items]


def test_modules_go_longest_first_each_kept_whole_and_in_its_own_order() -> None:
    items = [FakeItem(n) for n in ("tests/unit/test_a.py::one", "tests/world/test_b.py::one",
                                   "tests/unit/test_a.py::two", "tests/world/test_c.py::x[1]",
                                   "tests/world/test_b.py::two", "tests/unit/test_d.py::one")]
    seconds = {"tests/world/test_c.py": 40.0, "tests/unit/test_d.py": 9.0}
    ordered = ordering.longest_first(cast(list[pytest.Item], items), seconds)
    assert ids(ordered) == ["tests/world/test_c.py::x[1]", "tests/unit/test_d.py::one",
                            # unknown: a world module (5 s) before a unit module (0.5 s)
                            "tests/world/test_b.py::one", "tests/world/test_b.py::two",
                            "tests/unit/test_a.py::one", "tests/unit/test_a.py::two"]


def test_a_worker_takes_the_controllers_seconds_and_the_cache_overrides_the_table() -> None:
    worker = SimpleNamespace(workerinput={"module_seconds": {"tests/unit/x.py": 3.0}})
    assert ordering.known_seconds(cast(pytest.Config, worker)) == {"tests/unit/x.py": 3.0}
    module = next(iter(ordering.SECONDS))
    cache = SimpleNamespace(get=lambda key, default: {module: 1.5, "new.py": 2} if
                            key == ordering.CACHE_KEY else default)
    seconds = ordering.known_seconds(cast(pytest.Config, SimpleNamespace(cache=cache)))
    assert seconds[module] == 1.5 and seconds["new.py"] == 2.0


@pytest.mark.parametrize(("exitstatus", "keyword", "kept"), [(0, "", True), (1, "", False),
                                                             (0, "promote", False)])
def test_a_run_keeps_its_seconds_only_when_it_ran_everything_it_collected_and_passed(
        exitstatus: int, keyword: str, kept: bool) -> None:
    stored: dict[str, Any] = {ordering.CACHE_KEY: {"tests/world/old.py": 7.0}}
    cache = SimpleNamespace(get=lambda key, default: stored.get(key, default),
                            set=stored.__setitem__)
    config = SimpleNamespace(cache=cache, option=SimpleNamespace(keyword=keyword, markexpr="",
                                                                 lf=False))
    recorder = ordering.Recorder()
    for phase in (0.25, 2.0, 0.25):
        recorder.add(cast(pytest.TestReport, SimpleNamespace(
            nodeid="tests/world/test_b.py::one", duration=phase)))
    recorder.store(cast(pytest.Config, config), exitstatus)
    expected = {"tests/world/old.py": 7.0, **({"tests/world/test_b.py": 2.5} if kept else {})}
    assert stored[ordering.CACHE_KEY] == expected
