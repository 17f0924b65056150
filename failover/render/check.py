"""Render a check result in the monitoring plugin format: status line, perfdata, long output.

    OK - openstack.eqiad1 -> cloudcontrol1004, HAProxy healthy (8/8 services); standby ... \
| 'cloudcontrol1003_services_up'=8;;;0;8 ... 'dns_rtt_max'=0.4ms;;;0
    nameserver 208.80.154.238: cloudcontrol1004.wikimedia.org. (cloudcontrol1004) matches 0.4 ms
    cloudcontrol1004: reachable, 8/8 services healthy, stats read in 12.3 ms
"""

from __future__ import annotations

from failover.check_judge import CheckResult, PerfDatum


def number(value: float | None) -> str:
    """Return a perfdata number: no exponent, no trailing zeros; "" for None."""
    if value is None:
        return ""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def perfdatum(p: PerfDatum) -> str:
    """Return 'label'=value[UOM];warn;crit;min;max, empty trailing fields left out."""
    label = p.label.replace("'", "").replace("=", "_")
    value = "U" if p.value is None else f"{number(p.value)}{p.uom}"  # U: not measured
    fields = [value, number(p.warn), number(p.crit), number(p.minimum), number(p.maximum)]
    while fields and fields[-1] == "":
        fields.pop()
    return f"'{label}'=" + ";".join(fields)


def one_line(text: str) -> str:
    """Return `text` on one line, without the `|` that starts the perfdata."""
    return " ".join(text.replace("|", "/").split())


def long_output(result: CheckResult) -> list[str]:
    """Return the lines after the status line: each nameserver's answer, each candidate."""
    return [one_line(d) for d in result.details]


def plugin_output(result: CheckResult) -> str:
    """Return the whole plugin output: `STATE - message | perfdata`, then the long output."""
    line = f"{result.name} - {one_line(result.message)}"
    if result.perfdata:
        line += " | " + " ".join(perfdatum(p) for p in result.perfdata)
    return "\n".join([line, *long_output(result)]) + "\n"
