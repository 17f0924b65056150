"""failover.metrics: the textfile's content, kept across runs (no node_exporter here: see
tests/world/test_metrics.py); the [metrics] config key; the SAL END line's durations."""

from __future__ import annotations

from pathlib import Path

import pytest

from failover.config import parse_config
from failover.errors import ConfigError
from failover.metrics import parse_metrics, read_metrics, write_run
from failover.promote.plan import PromoteRequest
from failover.sal import sal_message


def test_runs_are_counted_across_writes_and_durations_replaced(tmp_path: Path) -> None:
    path = tmp_path / "failover.prom"
    write_run(path, "eqiad1", "done", {"push_to_merge": 12.5, "old_phase": 1.0}, now=100.0)
    write_run(path, "irc", "failed", {}, now=150.0)
    write_run(path, "eqiad1", "done", {"push_to_merge": 3.25}, now=200.0)
    write_run(path, "eqiad1", "nothing to do", {}, now=300.0)
    text = path.read_text()
    assert 'failover_promote_runs_total{name="eqiad1",outcome="done"} 2.0' in text
    assert 'failover_promote_runs_total{name="eqiad1",outcome="nothing_to_do"} 1.0' in text
    assert 'failover_promote_runs_total{name="irc",outcome="failed"} 1.0' in text
    got = parse_metrics(text)
    assert got.durations == {}  # the last runs said none: no stale gauges stay
    assert got.last_success == {"eqiad1": 200.0}
    assert not list(tmp_path.glob("failover.prom.*[0-9]"))  # no temporary file left


def test_the_last_durations_of_a_name_are_its_last_runs(tmp_path: Path) -> None:
    path = tmp_path / "failover.prom"
    write_run(path, "eqiad1", "done", {"push_to_merge": 12.5}, now=100.0)
    write_run(path, "irc", "done", {"push_to_merge": 2.0}, now=110.0)
    got = read_metrics(path)
    assert got.durations == {"eqiad1": {"push_to_merge": 12.5}, "irc": {"push_to_merge": 2.0}}


def test_a_torn_or_foreign_file_starts_the_counts_again(tmp_path: Path) -> None:
    path = tmp_path / "failover.prom"
    path.write_text('failover_promote_runs_total{name="eqiad1" 3\n')
    write_run(path, "eqiad1", "done", {}, now=1.0)
    assert read_metrics(path).runs == {("eqiad1", "done"): 1.0}


@pytest.mark.parametrize("value", ["/var/lib/node/failover.txt", "/var/lib/node/.prom", ""])
def test_metrics_textfile_must_be_a_prom_file(tmp_path: Path, value: str) -> None:
    raw = {"regions": {"r": {"fqdn": "a.example.org", "controllers": {
        "c1": {"target": "c1.example.org.", "stats": "http://c1:1/"}}}},
        "metrics": {"textfile": value}}
    with pytest.raises(ConfigError) as exc:
        parse_config(raw, tmp_path / "c.toml")
    assert "[metrics.textfile]" in "\n".join(exc.value.problems)


def test_metrics_textfile_relative_to_the_config(tmp_path: Path) -> None:
    raw = {"regions": {"r": {"fqdn": "a.example.org", "controllers": {
        "c1": {"target": "c1.example.org.", "stats": "http://c1:1/"},
        "c2": {"target": "c2.example.org.", "stats": "http://c2:1/"}}}},
        "metrics": {"textfile": "node/failover.prom"}}
    cfg = parse_config(raw, tmp_path / "c.toml")
    assert cfg.metrics is not None and cfg.metrics.textfile == tmp_path / "node/failover.prom"


def test_sal_end_says_the_durations() -> None:
    r = PromoteRequest("eqiad1", "c4")
    assert sal_message("END (PASS)", r, durations={"push_to_merge": 12.34}) == (
        "END (PASS) - failover promote eqiad1 c4 (push_to_merge=12.3s)")
