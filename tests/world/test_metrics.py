"""The promote's durations and its Prometheus metrics, read back by the real node_exporter
(Debian `prometheus-node-exporter`, textfile collector only) on 127.0.0.1."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import node_exporter
from sandbox.haproxy import haproxy_available
from sandbox.node_exporter import NodeExporter, start_node_exporter
from sandbox.world import World
from tests.conftest import RunCli

pytestmark = pytest.mark.skipif(not (haproxy_available() and node_exporter.available()),
                                reason="haproxy or prometheus-node-exporter not installed")

WORLD = {"outside": True}


@pytest.fixture
def exporter(world: World) -> Iterator[NodeExporter]:
    with start_node_exporter(world.workdir / "textfile") as ne:
        yield ne


def with_metrics(world: World, textfile: Path) -> str:
    """Return a config: the world's, with `[metrics] textfile`."""
    path = world.workdir / "metrics.toml"
    path.write_text(world.config_path.read_text()
                    + f'\n[metrics]\ntextfile = "{textfile}"\n', encoding="utf-8")
    return str(path)


def sample(metrics: str, series: str) -> float | None:
    """Return the value of one series in a scrape (None when absent)."""
    m = re.search(rf"^{re.escape(series)} (\S+)$", metrics, re.MULTILINE)
    return float(m.group(1)) if m else None


def test_promote_says_its_durations_and_node_exporter_serves_them(
        run_cli: RunCli, world: World, exporter: NodeExporter) -> None:
    cfg = with_metrics(world, exporter.textfile_dir / "failover.prom")
    assert world.outside is not None
    done = run_cli("promote", "eqiad1", "cloudcontrol1004", "--yes", "--json", "--config", cfg)
    assert done.code == 0, done.stderr
    durations = json.loads(done.stdout)["durations"]
    assert durations["push_to_merge"] > 0
    # the audit record and the SAL END line say them too
    record = [json.loads(x) for x in world.audit_path.read_text().splitlines()][-1]
    assert record["step"] == "record" and record["durations"] == durations
    end = world.outside.sal.wait_for(2)[-1]
    assert "END (PASS)" in end and re.search(r"\(push_to_merge=\d+\.\ds[^)]*\)", end), end

    scrape = exporter.metrics()
    assert sample(scrape, "node_textfile_scrape_error") == 0
    assert sample(scrape, 'failover_promote_runs_total{name="eqiad1",outcome="done"}') == 1
    assert sample(scrape, 'failover_promote_duration_seconds{name="eqiad1",'
                          'phase="push_to_merge"}') == pytest.approx(durations["push_to_merge"],
                                                                     abs=0.01)
    success = sample(scrape, 'failover_promote_last_success_timestamp_seconds{name="eqiad1"}')
    assert success is not None and success > 1.7e9

    back = run_cli("promote", "eqiad1", "cloudcontrol1003", "--yes", "--config", cfg)
    assert back.code == 0, back.stderr
    assert "push_to_merge" in back.stdout  # the outcome line says it
    nothing = run_cli("promote", "eqiad1", "cloudcontrol1003", "--yes", "--config", cfg)
    assert nothing.code == 0, nothing.stderr
    scrape = exporter.metrics()
    assert sample(scrape, 'failover_promote_runs_total{name="eqiad1",outcome="done"}') == 2
    assert sample(scrape, 'failover_promote_runs_total{name="eqiad1",'
                          'outcome="nothing_to_do"}') == 1
    assert sample(scrape, "node_textfile_scrape_error") == 0


def test_a_metrics_file_that_cannot_be_written_is_a_warning(run_cli: RunCli,
                                                            world: World) -> None:
    cfg = with_metrics(world, world.workdir / "not-made-yet" / "failover.prom")
    done = run_cli("promote", "eqiad1", "cloudcontrol1004", "--yes", "--config", cfg)
    assert done.code == 0, done.stderr
    assert "cannot write the metrics file" in done.stdout + done.stderr
    lines = [json.loads(x) for x in world.audit_path.read_text().splitlines()]
    assert any(x["step"] == "metrics" and x["result"] == "failed" for x in lines)
