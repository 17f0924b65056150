"""The outside systems and metrics: `[sal]`, `[alertmanager]`, `[phabricator]`, `[metrics]`
(each optional)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from failover.config.keys import toml_keys
from failover.config.model import (
    AlertmanagerConfig,
    MetricsConfig,
    PhabricatorConfig,
    SalConfig,
)
from failover.config.problems import (
    Problems,
    http_url,
    is_ip,
    sal_project_ok,
    table,
)
from failover.errors import UsageError
from failover.names import HOSTNAME_RE


def habits_sections(p: Problems, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Return the optional outside systems' sections (None where not configured)."""
    out: dict[str, Any] = {"sal": None, "alertmanager": None, "phabricator": None}
    if "sal" in raw:
        out["sal"] = _parse_sal(p, table(p, raw, "sal"))
    if "alertmanager" in raw:
        out["alertmanager"] = _parse_alertmanager(p, table(p, raw, "alertmanager"))
    if "phabricator" in raw:
        out["phabricator"] = _parse_phabricator(p, table(p, raw, "phabricator"))
    return out


def _parse_sal(p: Problems, t: Mapping[str, Any]) -> SalConfig | None:
    p.unknown_keys(t, "sal", toml_keys(SalConfig))
    host = p.get(t, "sal.host", str)
    port = p.get(t, "sal.port", int, SalConfig.port)
    project = p.get(t, "sal.project", str, SalConfig.project)
    if host is None or not (HOSTNAME_RE.match(host) or is_ip(host)):
        p.add("sal.host", f"{'missing' if host is None else repr(host) + ' is not a host'}; "
                          "the tcpircbot relay, e.g. host = \"logmsgbot.example.org\"")
        host = None
    if not 0 < port < 65536:
        p.add("sal.port", f"must be a TCP port (1-65535), got {port}")
    sal_project_ok(p, "sal.project", project)
    return SalConfig(host=host, port=port, project=project) if host else None


def _parse_alertmanager(p: Problems, t: Mapping[str, Any]) -> AlertmanagerConfig | None:
    from failover.alertmanager import parse_matcher

    p.unknown_keys(t, "alertmanager", toml_keys(AlertmanagerConfig))
    url = http_url(p, t, "alertmanager.url", "https://alertmanager.example.org")
    matchers = p.strings(t, "alertmanager.matchers") or AlertmanagerConfig.matchers
    for m in matchers:
        try:
            parse_matcher(m, controller="cloudcontrol1003")
        except UsageError as exc:
            p.add("alertmanager.matchers", exc.message)
    timeout = p.positive(t, "alertmanager.timeout", AlertmanagerConfig.timeout)
    ca_bundle = p.ca_bundle(t, "alertmanager.ca_bundle")
    return AlertmanagerConfig(url=url, matchers=tuple(matchers), timeout=timeout,
                              ca_bundle=ca_bundle) if url else None


def _parse_phabricator(p: Problems, t: Mapping[str, Any]) -> PhabricatorConfig | None:
    p.unknown_keys(t, "phabricator", toml_keys(PhabricatorConfig))
    url = http_url(p, t, "phabricator.url", "https://phabricator.wikimedia.org")
    timeout = p.positive(t, "phabricator.timeout", PhabricatorConfig.timeout)
    ca_bundle = p.ca_bundle(t, "phabricator.ca_bundle")
    return PhabricatorConfig(url=url, timeout=timeout, ca_bundle=ca_bundle) if url else None


def metrics_section(p: Problems, t: Mapping[str, Any], path: Path) -> MetricsConfig | None:
    """Return `[metrics]`: the node_exporter textfile (a `*.prom` file; relative to the config)."""
    p.unknown_keys(t, "metrics", toml_keys(MetricsConfig))
    textfile = p.get(t, "metrics.textfile", str)
    if textfile is None:
        p.add("metrics.textfile", "missing; e.g. textfile = "
                                  "\"/var/lib/prometheus/node.d/failover.prom\"")
        return None
    where = Path(os.path.expandvars(textfile)).expanduser()
    if not where.is_absolute():
        where = path.parent / where
    if where.suffix != ".prom" or not where.stem or where.name.startswith("."):
        p.add("metrics.textfile", f"{textfile!r} must be a file name ending in .prom "
                                  "(node_exporter's textfile collector reads only *.prom)")
        return None
    if where.parent.exists() and not where.parent.is_dir():
        p.add("metrics.textfile", f"{where.parent} is not a directory")
        return None
    return MetricsConfig(textfile=where)
