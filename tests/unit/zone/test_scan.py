"""Property tests for failover.zone: edit then read back, on generated and arbitrary templates."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from failover.config import normalize_target
from failover.zone import ZoneError, edit_record, find_record

PATH = "templates/wikimediacloud.org"
ZONE = "wikimediacloud.org."

SPACE = st.sampled_from([" ", "  ", "    ", "\t", " \t "])
TTL = st.sampled_from([None, "300", "5M", "5m", "1H", "1D", "1W", "1h30m"])
CLASS = st.sampled_from([None, "IN", "in"])
COMMENT_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126,
                                              blacklist_characters="{}"), max_size=20)
COMMENT = st.one_of(st.none(), COMMENT_TEXT.map(lambda t: ";" + t))
HOST = st.integers(1000, 2999).map(lambda n: f"cloudcontrol{n}.wikimedia.org.")
IPV4 = st.ip_addresses(v=4).map(str)
IPV6 = st.ip_addresses(v=6).map(str)
TARGETS = {"A": IPV4, "AAAA": IPV6, "CNAME": HOST}
RDATA = {
    "A": IPV4, "AAAA": IPV6, "CNAME": st.sampled_from(["openstack", "x.example.org.", "@"]),
    "TXT": st.sampled_from(['"v=spf1 -all"', '"a; b" "c ( d"', '"{ not jinja }"']),
    "MX": st.sampled_from(["10 mx1001.wikimedia.org.", "50 mx2001"]),
}
NOISE_OWNERS = st.sampled_from(["rabbitmq01", "object", "nat.cloudgw", "keystone", "@",
                                "openstack-old", "openstack2", "api.openstack",
                                "x.wikimediacloud.org."])
JINJA = st.sampled_from(["{# a note #}", "{% if enabled %}", "{% endif %}",
                         "; {{ serial_comment }}", "{{ extra }} 5M IN A 192.0.2.1", "",
                         "; a comment", "   ", "{#\nopenstack 5M IN A 192.0.2.99\n#}"])


@st.composite
def record_line(draw: st.DrawFn, owner: str, rtype: str, target: str) -> str:
    """Return one record line: owner, optional TTL and class in either order, comment."""
    sp = draw(SPACE)
    parts = [owner] if owner else [""]
    fields = [f for f in (draw(TTL), draw(CLASS)) if f]
    if draw(st.booleans()):
        fields.reverse()
    parts += [*fields, rtype, target]
    line = sp.join(parts) if owner else sp + sp.join(parts[1:])
    comment = draw(COMMENT)
    return line + (draw(SPACE) + comment if comment else "")


@st.composite
def noise_group(draw: st.DrawFn, allow_openstack: bool) -> list[str]:
    """Return a named record of another name plus 0-2 blank-owner records, or a Jinja line."""
    if draw(st.integers(0, 3)) == 0:
        return draw(JINJA).split("\n")
    pool = NOISE_OWNERS if not allow_openstack else st.one_of(NOISE_OWNERS,
                                                              st.just("openstack"))
    lines = []
    for i in range(draw(st.integers(1, 3))):
        rtype = draw(st.sampled_from(sorted(RDATA)))
        lines.append(draw(record_line(draw(pool) if i == 0 else "", rtype,
                                      draw(RDATA[rtype]))))
    return lines


@dataclass
class Generated:
    """A generated template, the name asked for, and where its record is."""

    text: str
    fqdn: str
    rtype: str
    target: str
    index: int  # 0-based line of the record


@st.composite
def templates(draw: st.DrawFn) -> Generated:
    """Return a template with exactly one A/AAAA/CNAME record at the chosen name."""
    labels = draw(st.lists(st.sampled_from(["eqiad1", "codfw1dev", "dev", "staging"]),
                           min_size=1, max_size=4, unique=True))
    chosen = draw(st.sampled_from(labels))
    rtype = draw(st.sampled_from(sorted(TARGETS)))
    target = draw(TARGETS[rtype])
    lines = ["; {{ serial_comment }}",
             "@ 1H IN SOA ns0.wikimedia.org. hostmaster.wikimedia.org. (",
             "    {{ serial_num }} 12H 2H 2W 1H )", "  1D IN NS ns0.wikimedia.org."]
    if draw(st.booleans()):
        lines.append(f"$TTL {draw(st.sampled_from(['300', '1H']))}")
    index = -1
    for label in labels:
        origin = draw(st.sampled_from([f"$ORIGIN {label}.wikimediacloud.org.",
                                       f"$ORIGIN {label}.@Z",
                                       f"$ORIGIN wikimediacloud.org.\n$ORIGIN {label}"]))
        lines += origin.split("\n")
        groups = draw(st.lists(noise_group(allow_openstack=label != chosen), max_size=5))
        at = draw(st.integers(0, len(groups)))
        for i in range(len(groups) + 1):
            if label == chosen and i == at:
                form = draw(st.sampled_from(["relative", "upper", "absolute", "at", "blank"]))
                owner = {"relative": "openstack", "upper": "OpenStack", "at": "@",
                         "absolute": f"openstack.{label}.wikimediacloud.org.",
                         "blank": ""}[form]
                if form == "at":
                    lines.append(f"$ORIGIN openstack.{label}.wikimediacloud.org.")
                if form == "blank":
                    lines.append('openstack 5M IN TXT "API; (see wikitech)"')
                index = len(lines)
                lines.append(draw(record_line(owner, rtype, target)))
                if form == "at":
                    lines.append(f"$ORIGIN {label}.wikimediacloud.org.")
            if i < len(groups):
                lines += groups[i]
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    text = eol.join(lines) + (eol if draw(st.booleans()) else "")
    return Generated(text, f"openstack.{chosen}.wikimediacloud.org", rtype, target, index)


def assert_one_line_edit(old: str, new: str, diff: str) -> int:
    """Assert `new` differs from `old` in exactly one line; return its index."""
    a, b = old.split("\n"), new.split("\n")
    assert len(a) == len(b)
    changed = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    assert len(changed) == 1
    body = diff.splitlines()[2:]
    assert sum(1 for ln in body if ln.startswith("-")) == 1
    assert sum(1 for ln in body if ln.startswith("+")) == 1
    return changed[0]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gen=templates(), data=st.data())
def test_edit_then_find_gives_the_new_target(gen: Generated, data: st.DataObject) -> None:
    rec = find_record(gen.text, gen.fqdn, path=PATH)
    assert (rec.line - 1, rec.rtype, rec.target) == (gen.index, gen.rtype, gen.target)
    new = data.draw(TARGETS[gen.rtype])
    if normalize_target(new) == normalize_target(gen.target):
        new = {"A": "192.0.2.200", "AAAA": "2001:db8::200", "CNAME": "other.example.org."}[
            gen.rtype]
    edit = edit_record(gen.text, gen.fqdn, new, path=PATH)
    assert edit.changed
    assert assert_one_line_edit(gen.text, edit.new_text, edit.diff) == gen.index
    again = find_record(edit.new_text, gen.fqdn, path=PATH)
    assert again.target == edit.new_target
    assert again.line_text[:again.span[0]] == rec.line_text[:rec.span[0]]
    assert again.line_text[again.span[1]:] == rec.line_text[rec.span[1]:]


FRAGMENTS = st.sampled_from([
    "openstack 5M IN CNAME cloudcontrol1004.wikimedia.org.", "openstack A 192.0.2.1",
    "openstack AAAA 2001:db8::1", "  5M IN A 192.0.2.2", "$ORIGIN eqiad1.wikimediacloud.org.",
    "$ORIGIN eqiad1", "$ORIGIN @Z", "$INCLUDE netbox/x", "$TTL 5M", "@ IN A 192.0.2.3",
    "openstack.eqiad1.wikimediacloud.org. CNAME x.", "x TXT ( \"a", ")", "{% if x %}", "{#",
    "#}", "{{ y }}", "openstack 5M IN A ( 192.0.2.4", "; comment", "", "openstack CNAME {{ t }}",
    "OPENSTACK.eqiad1.@Z 1H in A 192.0.2.5 ; c", "\r", "openstack\\.x A 192.0.2.6",
])
NOISY = st.text(alphabet=st.sampled_from(list(" \t;()\"{}#%$@.\\aAoOpen1\r")), max_size=30)


@st.composite
def arbitrary_texts(draw: st.DrawFn) -> str:
    """Return zone-like text: random fragments and noise, often around one valid record."""
    lines = draw(st.lists(st.one_of(FRAGMENTS, NOISY), max_size=25))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(lines)))
        lines[at:at] = ["$ORIGIN eqiad1.@Z", draw(st.sampled_from(
            ["openstack 5M IN A 192.0.2.1", "openstack CNAME cloudcontrol1004.wikimedia.org.",
             "openstack 1H IN AAAA 2001:db8::1 ; c"]))]
    return "\n".join(lines)


@settings(max_examples=400, deadline=None)
@given(text=arbitrary_texts(),
       new=st.sampled_from(["cloudcontrol1003.wikimedia.org.", "192.0.2.77", "2001:db8::77"]))
def test_arbitrary_text_gives_an_error_or_a_one_record_edit(text: str, new: str) -> None:
    fqdn = "openstack.eqiad1.wikimediacloud.org"
    try:
        edit = edit_record(text, fqdn, new, path=PATH)
    except ZoneError as exc:
        event("refused")
        assert exc.exit_code == 2
        assert str(exc).startswith(("templates/wikimediacloud.org", "new target"))
        return
    event(f"edited (changed={edit.changed})")
    again = find_record(edit.new_text, fqdn, path=PATH)
    assert again.line == edit.record.line
    if not edit.changed:
        assert edit.new_text == text
        return
    assert assert_one_line_edit(text, edit.new_text, edit.diff) == edit.record.line - 1
    assert again.target == edit.new_target
