"""`[verify]`: the nameservers, authdns hosts and recursors to ask, and how long to wait."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from failover.config.keys import toml_keys
from failover.config.model import (
    AUTHDNS_PORT,
    WIPE_PLACEHOLDERS,
    Nameserver,
    Recursor,
    VerifyConfig,
)
from failover.config.problems import Problems, only_placeholders
from failover.errors import UsageError
from failover.names import HOSTNAME_RE


def parse_nameserver(entry: str, default_port: int = 53) -> Nameserver:
    """Return the Nameserver for "host", "host:port", "[v6]:port" or a bare IPv6 address.

    Raises:
        UsageError: the entry is not a host name or address with an optional port.
    """
    host, port = entry.strip(), default_port
    m = re.match(r"^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$", host)
    if m:
        host, port = m.group(1), int(m.group(2) or default_port)
    elif host.count(":") == 1:
        host, _, port_s = host.partition(":")
        if not port_s.isdigit():
            raise UsageError(f"nameserver {entry!r}: port {port_s!r} is not a number")
        port = int(port_s)
    if not 0 < port < 65536:
        raise UsageError(f"nameserver {entry!r}: port {port} out of range")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not HOSTNAME_RE.match(host):
            raise UsageError(
                f"nameserver {entry!r} is not a host name or address",
                hint='write "host", "host:port" or "[v6addr]:port"',
            ) from None
    return Nameserver(host=host, port=port)


def verify_section(p: Problems, t: Mapping[str, Any]) -> VerifyConfig:
    p.unknown_keys(t, "verify", toml_keys(VerifyConfig))
    d = VerifyConfig()
    lists: dict[str, tuple[Nameserver, ...]] = {}
    for key, port in (("nameservers", 53), ("authdns_hosts", AUTHDNS_PORT)):
        lists[key] = _nameservers(p, f"verify.{key}", p.strings(t, f"verify.{key}"), port)
    recursors, wipes = _parse_recursors(p, t.get("recursors", []))
    return VerifyConfig(
        nameservers=lists["nameservers"], recursors=recursors,
        timeout=p.positive(t, "verify.timeout", d.timeout),
        query_timeout=p.positive(t, "verify.query_timeout", d.query_timeout),
        interval=p.positive(t, "verify.interval", d.interval),
        authdns_hosts=lists["authdns_hosts"], recursor_wipes=wipes,
        wipe_timeout=p.positive(t, "verify.wipe_timeout", d.wipe_timeout),
    )


def _nameservers(p: Problems, key: str, entries: Sequence[str],
                 port: int = 53) -> tuple[Nameserver, ...]:
    """Return each entry as a Nameserver (`port` unless it names one); problems to `p`."""
    out = []
    for entry in entries:
        try:
            out.append(parse_nameserver(entry, port))
        except UsageError as exc:
            p.add(key, exc.message)
    if port == AUTHDNS_PORT and len(set(out)) < len(out):
        p.add(key, "lists a host twice")
    return tuple(out)


def _parse_recursors(p: Problems, value: Any) -> tuple[tuple[Nameserver, ...],
                                                        tuple[Recursor, ...]]:
    """Return [verify] recursors: every address, and those given as tables with a `wipe`.

    An entry is "host[:port]" (asked only) or {address = "host[:port]", wipe = [argv]}.
    """
    key = "verify.recursors"
    if not isinstance(value, list):
        p.add(key, f"must be a list, got {type(value).__name__}")
        return (), ()
    servers: list[Nameserver] = []
    wipes: list[Recursor] = []
    for i, entry in enumerate(value):
        where = f"{key}[{i}]"
        if isinstance(entry, str):
            servers += _nameservers(p, key, p.strings({"recursors": [entry]}, key))
            continue
        if not isinstance(entry, Mapping):
            p.add(where, 'must be "host[:port]" or a table {address = ..., wipe = [...]}')
            continue
        p.unknown_keys(entry, where, toml_keys(Recursor))
        address = p.get(entry, f"{where}.address", str)
        if not address:
            p.add(f"{where}.address", 'missing; e.g. address = "208.80.154.254"')
            continue
        found = _nameservers(p, f"{where}.address", (address,))
        wipe = p.strings(entry, f"{where}.wipe")
        bad = [a for a in wipe if not only_placeholders(a, WIPE_PLACEHOLDERS)]
        if bad:
            p.add(f"{where}.wipe", f"{bad[0]!r}: the only placeholder is {{name}} (write "
                                   "{{ and }} for braces)")
        elif wipe and not any("{name}" in a for a in wipe):
            p.add(f"{where}.wipe", "must contain {name} (the record to wipe), e.g. "
                                   '["ssh", "HOST", "sudo", "rec_control", "wipe-cache", '
                                   '"{name}$"]')
        elif found:
            servers += found
            wipes.append(Recursor(found[0], tuple(wipe)))
    return tuple(servers), tuple(wipes)
