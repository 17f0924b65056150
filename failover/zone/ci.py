"""`gdnsd checkconf` on the configuration operations/dns's CI assembles (utils/deploy-check.py).

deploy-check.py (mock mode, what CI runs) builds a temporary gdnsd directory from the
checkout: `config`, `geo-maps` and `geo-resources` from the repository's root; the puppet-side
files (`config-options`, `discovery-map`, `discovery-geo-resources`,
`discovery-metafo-resources`, `discovery-states`) and the GeoIP database from
`utils/mock_etc`; the zones rendered by gen-zones.py under `zones/`; and Netbox's generated
snippets (a clone of netbox-exports' dns.git) under `zones/netbox/`. Then
`gdnsd -c DIR checkconf`. This module builds the same directory for the one zone a promote
changes (gdnsd loads each zone on its own: the other zones, unchanged, check as before).

Netbox's snippets are not in operations/dns. With `[dns] netbox_snippets` (a directory, as
authdns hosts have it) they are copied as CI copies them. Without it, each `$INCLUDE netbox/...`
gets a stand-in: the first holds one address record (192.0.2.1, TEST-NET-1) for each name of
the zone that a CNAME, MX, NS or SRV record of the zone points to and that the zone itself does
not define (the names Netbox defines), the others a comment. `zones_strict_data` then checks
everything else, and the check's description names what stood in.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from failover.zone.gdnsd import run_checkconf
from failover.zone.scan import Token, iter_lines, resolve, split_fields, tokenize

DNS_CFG = ("config", "geo-maps", "geo-resources")
"""deploy-check.py's DNS_CFG: the gdnsd config files operations/dns holds at its root."""
PUPPET_CFG = ("config-options", "discovery-map", "discovery-geo-resources",
              "discovery-metafo-resources", "discovery-states")
"""deploy-check.py's PUPPET_CFG: puppet's files, mocked in utils/mock_etc for CI."""
MOCK_ETC = "utils/mock_etc"
GEOIP_DB = "geoip/GeoIP2-City.mmdb"
NETBOX_DIR = "netbox"
"""Where the zones' `$INCLUDE`s find Netbox's generated snippets (under the zones directory)."""
STAND_IN_ADDRESS = "192.0.2.1"
"""What a stood-in name points to (RFC 5737 TEST-NET-1, as utils/mock_etc uses)."""
_TARGET_FIELD = {"CNAME": 0, "NS": 0, "MX": 1, "SRV": 3}
"""The record types whose same-zone target gdnsd's zones_strict_data checks, and its field."""
_INCLUDE_RE = re.compile(r"^\$INCLUDE[ \t]+(\S+)", re.IGNORECASE | re.MULTILINE)
_SHOWN = 5
"""How many stood-in names the check's description lists."""


@dataclass
class Assembly:
    """What the assembled check used for the zone's `$INCLUDE`s."""

    snippets: Path | None
    stood_in: list[str] = field(default_factory=list)
    """Names given a stand-in address (Netbox's, presumably)."""
    left_out: list[str] = field(default_factory=list)
    """`$INCLUDE`s outside netbox/ that nothing provides (commented out)."""

    def describe(self) -> str:
        """Return the `checked:` line's part for this check."""
        what = ("gdnsd checkconf with the repository's config, plugins, geo-maps, "
                "geo-resources and utils/mock_etc (as utils/deploy-check.py)")
        if self.snippets is not None:
            what += f"; netbox/ snippets from {self.snippets}"
        elif self.stood_in:
            names = ", ".join(n.rstrip(".") for n in self.stood_in[:_SHOWN])
            more = f" and {len(self.stood_in) - _SHOWN} more" if len(self.stood_in) > _SHOWN \
                else ""
            what += (f"; netbox/ includes stood in for (no [dns] netbox_snippets): "
                     f"{len(self.stood_in)} names defined as {STAND_IN_ADDRESS} ({names}{more})")
        if self.left_out:
            what += f"; $INCLUDE left out (not found): {', '.join(self.left_out)}"
        return what


def has_ci_config(checkout: Path | None) -> bool:
    """Return True when the checkout holds what deploy-check.py assembles gdnsd's config from."""
    if checkout is None:
        return False
    files = [checkout / f for f in DNS_CFG] + [checkout / MOCK_ETC / f for f in PUPPET_CFG]
    return all(f.is_file() for f in files) and (checkout / MOCK_ETC / GEOIP_DB).exists()


def checkconf_as_ci(gdnsd: str, rendered: str, *, path: str, zone: str, checkout: Path,
                    snippets: Path | None, timeout: float) -> Assembly:
    """Run `gdnsd checkconf` on the zone in the directory deploy-check.py assembles.

    Returns:
        What stood in for the zone's `$INCLUDE`s.

    Raises:
        ZoneError: gdnsd refuses (its own error lines), or does not finish within `timeout`.
    """
    zone = zone.rstrip(".")
    tmp = Path(tempfile.mkdtemp(prefix="fo-dnscheck-", dir="/tmp"))
    try:
        zones = tmp / "zones"
        (tmp / "geoip").mkdir()
        zones.mkdir()
        for name in DNS_CFG:
            shutil.copyfile(checkout / name, tmp / name)
        for name in PUPPET_CFG:
            shutil.copyfile(checkout / MOCK_ETC / name, tmp / name)
        shutil.copyfile(checkout / MOCK_ETC / GEOIP_DB, tmp / GEOIP_DB)
        assembly = Assembly(snippets)
        if snippets is not None:
            shutil.copytree(snippets, zones / NETBOX_DIR, ignore=shutil.ignore_patterns(".git"))
        body = _includes(rendered, zones, zone, checkout, assembly)
        (zones / zone).write_bytes(body.encode("utf-8", "surrogateescape"))
        run_checkconf(gdnsd, tmp, zones / zone, path=path, timeout=timeout,
                      by_hand="run utils/deploy-check.py in the checkout by hand",
                      config=" with the repository's own config",
                      also=" (utils/deploy-check.py refuses it too)")
        return assembly
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _includes(rendered: str, zones: Path, zone: str, checkout: Path,
              assembly: Assembly) -> str:
    """Return the zone with its `$INCLUDE`s served (snippets, stand-ins, checkout files)."""
    targets = undefined_targets(rendered, zone) if assembly.snippets is None else []
    stand_ins = stand_in_files(rendered, zone, targets) if assembly.snippets is None else {}
    if stand_ins:
        assembly.stood_in = targets
    for rel, text in stand_ins.items():
        (zones / rel).parent.mkdir(parents=True, exist_ok=True)
        (zones / rel).write_text(text, encoding="utf-8")

    def one(m: re.Match[str]) -> str:
        rel = Path(m.group(1))
        if rel.is_absolute() or ".." in rel.parts:
            assembly.left_out.append(m.group(1))
            return f"; {m.group(0)} (left out: not a path under the zones directory)"
        if (zones / rel).is_file() or rel.parts[0] == NETBOX_DIR:
            return m.group(0)  # Netbox's snippet or its stand-in; a missing one gdnsd names
        src = checkout / rel
        if src.is_file():
            (zones / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, zones / rel)
            return m.group(0)
        assembly.left_out.append(m.group(1))
        return f"; {m.group(0)} (left out: not in the checkout)"

    return _INCLUDE_RE.sub(one, rendered)


def stand_in_files(rendered: str, zone: str,
                   targets: Sequence[str] | None = None) -> dict[str, str]:
    """Return the stand-ins of the zone's `$INCLUDE netbox/...` files ({path under the zones
    directory: text}): the first defines `undefined_targets` (`targets` when already read) at
    STAND_IN_ADDRESS, the others hold a comment (a file gdnsd reads must end with a
    newline)."""
    files: dict[str, str] = {}
    for m in _INCLUDE_RE.finditer(rendered):
        rel = Path(m.group(1))
        if rel.is_absolute() or ".." in rel.parts or rel.parts[0] != NETBOX_DIR:
            continue
        text = "; stand-in for Netbox's snippet (failover's zone check)\n"
        if not files:
            names = undefined_targets(rendered, zone) if targets is None else targets
            text += "".join(f"{n} 3600 IN A {STAND_IN_ADDRESS}\n" for n in names)
        files.setdefault(str(rel), text)
    return files


def undefined_targets(rendered: str, zone: str) -> list[str]:
    """Return the same-zone names the zone's CNAME/MX/NS/SRV records point to and it does
    not define (nor delegate), sorted: what Netbox's snippets define in production."""
    zone_abs = zone.rstrip(".").lower() + "."
    owners: set[str] = set()
    cuts: set[str] = set()
    targets: set[str] = set()
    for name, rtype, rdata in records(rendered, zone_abs):
        owners.add(name)
        if rtype == "NS" and name != zone_abs:
            cuts.add(name)
        where = _TARGET_FIELD.get(rtype)
        if where is not None and len(rdata) > where:
            target = rdata[where].lower()
            if target == zone_abs or target.endswith("." + zone_abs):
                targets.add(target)
    return sorted(t for t in targets - owners if not _under(t, cuts, zone_abs))


def _under(name: str, cuts: set[str], zone: str) -> bool:
    """Return True when `name` is at or below a delegation point of the zone."""
    labels = name.split(".")
    for i in range(len(labels)):
        parent = ".".join(labels[i:])
        if parent == zone:
            return False
        if parent in cuts:
            return True
    return False


def records(rendered: str, zone: str) -> Iterator[tuple[str, str, list[str]]]:
    """Yield (owner, type, data) of every record of a rendered zone, names absolute.

    Data fields that are names of the types checked (CNAME, MX, NS, SRV targets) are made
    absolute under the `$ORIGIN` in force; other data is as written.
    """
    origin = owner = zone
    record: list[Token] = []
    depth = 0
    inherit = False
    for line in iter_lines(rendered):
        toks = tokenize(line)
        if not depth:
            if not toks:
                continue
            if line[:1] == "$":
                if toks[0].text.upper() == "$ORIGIN" and len(toks) > 1:
                    origin = resolve(toks[1].text, origin, zone) or origin
                continue
            record = []
            inherit = line[:1] in (" ", "\t")
        for t in toks:
            if t.kind == "p":
                depth += 1 if t.text == "(" else -1
            else:
                record.append(t)
        if depth or not record:
            continue
        if not inherit:
            owner = resolve(record[0].text, origin, zone) or owner
            record = record[1:]
        _, _, rtype_tok, rdata = split_fields(record)
        record = []
        if rtype_tok is None:
            continue
        rtype = rtype_tok.text.upper()
        data = [t.text for t in rdata]
        where = _TARGET_FIELD.get(rtype)
        if where is not None and len(data) > where:
            data[where] = resolve(data[where], origin, zone) or data[where]
        yield owner, rtype, data
