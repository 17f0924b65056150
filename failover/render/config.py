"""Render the configuration: a summary for people, the full document for machines."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from failover.config import Config, Health, Service, redact_url
from failover.redact import redact_value
from failover.render import human_console, print_json


def config_document(cfg: Config) -> dict[str, Any]:
    """Return the configuration as a JSON-able dict, every default filled, passwords hidden."""
    doc: dict[str, Any] = {
        "path": str(cfg.path),
        "dns": {**asdict(cfg.dns), "checkout": str(cfg.dns.checkout)},
        "gerrit": asdict(cfg.gerrit),
        "verify": {**asdict(cfg.verify),
                   "nameservers": [str(n) for n in cfg.verify.nameservers],
                   "recursors": [str(n) for n in cfg.verify.recursors],
                   "authdns_hosts": [str(n) for n in cfg.verify.authdns_hosts],
                   "recursor_wipes": [{"address": str(r.server), "wipe": list(r.wipe)}
                                      for r in cfg.verify.recursor_wipes]},
        "haproxy": asdict(cfg.haproxy),
        "audit": {"log": str(cfg.audit_log) if cfg.audit_log else None},
        "regions": {},
    }
    for key in ("sal", "alertmanager", "phabricator"):  # optional sections: null when absent
        section = getattr(cfg, key)
        doc[key] = asdict(section) if section is not None else None
    for name, region in cfg.regions.items():
        doc["regions"][name] = {
            "fqdn": region.fqdn,
            "services": list(region.services),
            "controllers": {
                c.name: {"target": c.target, "record_type": c.record_type,
                         "stats": redact_url(c.stats), "ca_bundle": c.ca_bundle}
                for c in region.controllers
            },
        }
    doc["services"] = {name: _service_entry(svc) for name, svc in cfg.services.items()}
    return dict(_listify(doc))


def _service_entry(svc: Service) -> dict[str, Any]:
    """Return one `[services.*]`/`[groups.*]` entry: records, zone file, candidates' targets
    per record and health (URLs redacted)."""
    def health(h: Health) -> dict[str, Any]:
        from failover.config.model import HEALTH_KEYS

        keys = {"kind"} | HEALTH_KEYS[h.kind]  # the kind's own keys: no status=200 on a command
        doc = {k: v for k, v in asdict(h).items() if k in keys and v not in (None, (), [])}
        return dict(redact_value(doc))  # url, stats and every argv element

    return {"group": svc.group, "zone_file": svc.zone_file, "records": list(svc.records),
            "topic": svc.push_topic, "sal_project": svc.sal_project,
            "candidates": {c.name: {"targets": dict(c.targets), "health": health(c.health)}
                           for c in svc.candidates}}


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_listify(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def show_valid(cfg: Config, *, as_json: bool, checkout_problem: str | None = None) -> None:
    """Say the configuration is valid (or read, when the checkout cannot be used), with the
    regions, services and groups it holds."""
    services = [s for s in cfg.services.values() if not s.group]
    groups = [s for s in cfg.services.values() if s.group]
    if as_json:
        print_json({"valid": checkout_problem is None, "path": str(cfg.path),
                    "regions": sorted(cfg.regions), "services": sorted(s.name for s in services),
                    "groups": sorted(s.name for s in groups),
                    "checkout": {"path": str(cfg.dns.checkout), "problem": checkout_problem}})
        return
    console = human_console(False)
    verdict = "[green]valid[/]" if checkout_problem is None else "[yellow]read[/]"
    console.print(f"{verdict}: {escape(str(cfg.path))}", highlight=False)
    for kind, items in (
            ("regions", [f"{n} ({len(r.controllers)} controllers)"
                         for n, r in cfg.regions.items()]),
            ("services", [f"{s.name} ({_count(len(s.records), 'record')}, "
                          f"{_count(len(s.candidates), 'candidate')})" for s in services]),
            ("groups", [f"{s.name} ({_count(len(s.records), 'record')}, "
                        f"sides {', '.join(s.candidate_names)})" for s in groups])):
        console.print(f"  {kind}: {escape(', '.join(items)) if items else '[dim]none[/]'}",
                      highlight=False, soft_wrap=True)
    state = "[red]unusable[/]" if checkout_problem else "a git checkout"
    console.print(f"  checkout: {escape(str(cfg.dns.checkout))} ({state})", highlight=False,
                  soft_wrap=True)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def show_config(cfg: Config, *, as_json: bool) -> None:
    """Show the whole configuration as read, defaults included."""
    doc = config_document(cfg)
    if as_json:
        print_json(doc)
        return
    console = human_console(False)
    console.print(f"[bold]config[/]: {cfg.path}")
    for section in ("dns", "gerrit", "verify", "haproxy", "audit", "sal", "alertmanager",
                    "phabricator"):
        if doc[section] is None:
            continue
        table = Table(title=escape(f"[{section}]"), show_header=False, title_justify="left")
        for key, value in doc[section].items():
            table.add_row(key, repr(value) if value not in (None, [], "") else "[dim]-[/]")
        console.print(table)
    for name, region in doc["regions"].items():
        table = Table(title=escape(f"[regions.{name}] {region['fqdn']}"), title_justify="left")
        table.add_column("controller")
        table.add_column("target")
        table.add_column("stats")
        for cname, c in region["controllers"].items():
            table.add_row(cname, f"{c['target']} ({c['record_type']})", c["stats"])
        console.print(table)
        console.print(f"  services: {', '.join(region['services'])}")
    for name, svc in doc["services"].items():
        kind = "groups" if svc["group"] else "services"
        zone = svc["zone_file"] or doc["dns"]["zone_file"]
        sal = f", SAL project {svc['sal_project']}" if svc["sal_project"] else ""
        table = Table(title=escape(f"[{kind}.{name}] {zone}, topic {svc['topic']}{sal}"),
                      title_justify="left")
        table.add_column("side" if svc["group"] else "candidate")
        table.add_column("record -> target")
        table.add_column("health")
        for cname, c in svc["candidates"].items():
            health = " ".join(f"{k}={v}" for k, v in c["health"].items())
            table.add_row(cname, "\n".join(f"{r} -> {t}" for r, t in c["targets"].items()),
                          escape(health))
        console.print(table)
