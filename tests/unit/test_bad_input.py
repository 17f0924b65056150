"""Bad input, generated (hypothesis): every parser answers with its own error, never another.

Covered here: the config loader (documents built from dicts, and arbitrary text), Gerrit's
push answers and REST bodies, the judging of DNS answers, and odd command-line arguments for
every command. Covered elsewhere, not repeated: the stats CSV parser
(tests/test_haproxy.py::test_parser_raises_only_its_own_error, 300 cases) and the zone
editor (tests/test_zone_props.py: 250 generated templates, 400 arbitrary texts).

Run with `-s` to see how many cases each test generated (the figures of docs/faults.md).
"""

from __future__ import annotations

import contextlib
import ipaddress
import string
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rrset
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from failover.config import Config, Controller, Region, parse_config
from failover.dnscheck import MATCHES, Server
from failover.dnscheck.judge import _judge, _read
from failover.dnscheck.query import _Reply
from failover.errors import EXIT_GIT, ConfigError, GitError
from failover.gerrit import ChangeInfo, GerritClient, parse_json
from failover.repo import GitReview, PushOutcome, PushRejected, parse_push_output, rejection_error
from tests.conftest import RunCli, region_toml

CASES: Counter[str] = Counter()
"""Cases generated per test in this run."""


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Iterator[None]:
    yield
    print("\nbad-input cases generated:", dict(CASES), "total", sum(CASES.values()))


# -- the config loader --------------------------------------------------------------------------

KEYS = ["dns", "gerrit", "verify", "haproxy", "regions", "audit", "checkout", "zone_file",
        "topic", "reviewers", "hashtags", "deploy", "deploy_timeout", "url", "timeout",
        "review_timeout", "poll_interval", "ca_bundle", "nameservers", "recursors",
        "query_timeout", "interval", "connect_timeout", "max_bytes", "frontend_pattern",
        "backend_pattern", "ssh_command", "ssh_config", "server_pattern", "fqdn", "services",
        "controllers",
        "target", "stats", "log", "eqiad1", "cloudcontrol1003", "Bad Name", ""]
SCALARS = st.one_of(
    st.text(max_size=30), st.integers(), st.floats(allow_nan=True), st.booleans(),
    st.sampled_from(["http://[::1", "unix://", "ssh://h", "http://u:p@h/x", "../../etc",
                     "/abs", "~/x", "$HOME/x", "a\x00b", "10.0.0.1", "h.example.org.",
                     "{service}_x", "127.0.0.1:99999", "[::1]:53", "https://gerrit/r"]))
DOCS = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)),
    max_leaves=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS), DOCS, max_size=6))
def test_config_from_any_document_is_a_config_or_a_config_error(raw: dict[str, Any]) -> None:
    CASES["config documents"] += 1
    try:
        cfg = parse_config(raw, Path("/tmp/generated.toml"))
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) for p in exc.problems)
        return
    assert isinstance(cfg, Config)


def _table(keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))


LEAVES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))
CONTROLLER = _table(["target", "stats", "ca_bundle"], LEAVES)
REGION_BODY = st.fixed_dictionaries({}, optional={
    "fqdn": LEAVES, "services": LEAVES,
    "controllers": st.dictionaries(st.sampled_from(["cloudcontrol1003", "cloudcontrol1004", "x y"]),
                                   CONTROLLER, max_size=3)})
SHAPED = st.fixed_dictionaries({}, optional={
    "dns": _table(["checkout", "zone_file", "topic", "reviewers", "hashtags", "deploy",
                   "deploy_timeout"], LEAVES),
    "gerrit": _table(["url", "timeout", "review_timeout", "poll_interval", "ca_bundle"], LEAVES),
    "verify": _table(["nameservers", "recursors", "timeout", "query_timeout", "interval"],
                     LEAVES),
    "haproxy": _table(["connect_timeout", "timeout", "max_bytes", "frontend_pattern",
                       "backend_pattern", "ssh_command", "ssh_config", "server_pattern"], LEAVES),
    "audit": _table(["log"], LEAVES),
    "regions": st.dictionaries(st.sampled_from(["eqiad1", "codfw1dev", "Bad"]), REGION_BODY,
                               max_size=2),
})
"""Documents shaped like the config (the right tables), with arbitrary values at the leaves."""


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SHAPED)
def test_config_shaped_document_is_a_config_or_a_config_error(raw: dict[str, Any]) -> None:
    CASES["config shaped documents"] += 1
    try:
        cfg = parse_config(raw, Path("/tmp/generated.toml"))
    except ConfigError as exc:
        assert exc.problems
        return
    assert isinstance(cfg, Config)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable + "é\x00", max_size=200))
def test_config_from_any_text_is_a_config_or_a_config_error(text: str) -> None:
    CASES["config texts"] += 1
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return  # load_config turns this into a ConfigError (tests/test_config.py::test_bad_toml)
    with contextlib.suppress(ConfigError):
        parse_config(raw, Path("/tmp/generated.toml"))


# -- Gerrit: push answers and REST bodies -------------------------------------------------------

REVIEW = GitReview("gerrit.example.org", 29418, "operations/dns.git", "master", "origin")
LINES = st.one_of(
    st.text(max_size=120),
    st.builds(lambda r: f" ! [remote rejected] HEAD -> refs/for/master ({r})", st.text()),
    st.builds(lambda n, s: f"remote:   https://gerrit.example.org/r/c/x/+/{n} {s}",
              st.integers(), st.text(max_size=40)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(LINES, max_size=8))
def test_push_output_is_parsed_or_ignored(lines: list[str]) -> None:
    CASES["push answers"] += 1
    outcome = parse_push_output(lines)
    assert isinstance(outcome, PushOutcome)
    if outcome.rejected is not None:
        err = rejection_error(outcome.rejected, REVIEW)
        assert isinstance(err, PushRejected) and err.exit_code == EXIT_GIT and err.hint
    if outcome.number is not None:
        assert outcome.url and outcome.url.endswith(f"/+/{outcome.number}")


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=10)
CHANGE_KEYS = ["project", "_number", "branch", "change_id", "subject", "status", "topic",
               "current_revision", "labels", "all", "value", "rejected"]
CHANGES = st.dictionaries(st.sampled_from(CHANGE_KEYS), st.recursive(
    JSON, lambda inner: st.dictionaries(st.sampled_from([*CHANGE_KEYS, "x"]), inner, max_size=4)
    | st.lists(inner, max_size=3), max_leaves=8), max_size=10)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.text(max_size=200).map(lambda t: ")]}'\n" + t)))
def test_rest_body_is_json_or_a_git_error(text: str) -> None:
    CASES["REST bodies"] += 1
    try:
        parse_json(text, "https://gerrit.example.org/r/changes/")
    except GitError as exc:
        assert exc.exit_code == EXIT_GIT


VALID_CHANGE = {"project": "operations/dns", "_number": 7, "branch": "master",
                "change_id": "I" + "0" * 40, "subject": "s", "status": "NEW"}
"""The keys a ChangeInfo needs: with them, the generated labels and others are read."""


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(CHANGES, JSON, CHANGES.map(lambda d: {**VALID_CHANGE, **d}),
                 st.dictionaries(st.sampled_from(["labels", "topic", "current_revision"]),
                                 st.recursive(JSON, lambda inner: st.dictionaries(
                                     st.sampled_from(["Code-Review", "all", "value", "rejected"]),
                                     inner, max_size=3) | st.lists(inner, max_size=3)),
                                 max_size=3).map(lambda d: {**VALID_CHANGE, **d})))
def test_change_info_from_any_json_is_a_change_or_a_git_error(data: Any) -> None:
    CASES["REST changes"] += 1
    client = GerritClient("https://gerrit.example.org/r")
    try:
        info = client._info(data)
    except GitError as exc:
        assert exc.exit_code == EXIT_GIT
        return
    assert isinstance(info, ChangeInfo)
    assert all(isinstance(v, int) for v in info.labels.values())


# -- judging DNS answers -------------------------------------------------------------------------

FQDN = "openstack.eqiad1.wikimediacloud.org"
REGION = Region("eqiad1", FQDN, ("nova_api",), (
    Controller("cloudcontrol1003", "cloudcontrol1003.wikimedia.org.", "unix:///x"),
    Controller("cloudcontrol1004", "cloudcontrol1004.wikimedia.org.", "unix:///x")))
SERVER = Server("ns0", "127.0.0.1", 53)
NAMES = st.sampled_from([FQDN, FQDN.upper(), "other.example.org", "cloudcontrol1003.wikimedia.org",
                         "openstack.codfw1dev.wikimediacloud.org"])
TARGETS = st.sampled_from(["cloudcontrol1003.wikimedia.org.", "cloudcontrol1004.wikimedia.org.",
                           "CLOUDCONTROL1004.wikimedia.org.", "elsewhere.example.org.", "."])
ADDRESSES = st.ip_addresses(v=4).map(str) | st.ip_addresses(v=6).map(str)


@st.composite
def replies(draw: st.DrawFn) -> dns.message.Message:
    """Return a reply to the region's A query with arbitrary flags, rcode and records."""
    query = dns.message.make_query(FQDN, draw(st.sampled_from(["A", "AAAA"])))
    reply = dns.message.make_response(query)
    reply.set_rcode(dns.rcode.Rcode(draw(st.sampled_from([0, 0, 0, 1, 2, 3, 5]))))
    if draw(st.booleans()):
        reply.flags |= dns.flags.AA
    for _ in range(draw(st.integers(0, 3))):
        owner = draw(NAMES)
        rtype = draw(st.sampled_from(["CNAME", "A", "AAAA"]))
        if rtype == "CNAME":
            data = [draw(TARGETS)]
        else:
            data = draw(st.lists(st.ip_addresses(v=4 if rtype == "A" else 6).map(str),
                                 min_size=1, max_size=3))
        reply.answer.append(dns.rrset.from_text_list(owner, draw(st.integers(0, 2**31 - 1)),
                                                     "IN", rtype, data))
    return reply


@settings(max_examples=500, deadline=None)
@given(replies(), st.sampled_from([None, "cloudcontrol1003", "cloudcontrol1004"]),
       st.booleans())
def test_any_answer_gets_a_verdict_and_matches_only_when_it_should(
        reply: dns.message.Message, reference: str | None, expected: bool) -> None:
    CASES["DNS answers"] += 1
    answer = _judge(REGION, _read(REGION, SERVER, _Reply(reply, None, 1.0)), reference,
                    expected)
    assert answer.verdict
    if answer.verdict == MATCHES:
        assert answer.aa and reference is not None and answer.controller == reference
        assert reply.rcode() == dns.rcode.NOERROR
        rrset = next(r for r in reply.answer if r.name == dns.name.from_text(FQDN))
        assert len(answer.records) == 1
        want = REGION.controller(reference).target
        assert answer.records[0] == want or ipaddress.ip_address(answer.records[0])
        assert rrset.rdtype in (dns.rdatatype.CNAME, dns.rdatatype.A, dns.rdatatype.AAAA)


# -- odd command-line arguments -------------------------------------------------------------------

ODD = ["../x", "a;b", "ünïcödé", "x" * 300, "", "-x", "$(id)", "a b", "EQIAD1", "x\ty"]


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "c.toml"
    path.write_text('[verify]\nnameservers = ["127.0.0.1:1"]\n' + region_toml(
        "eqiad1", {"cloudcontrol1003": "unix:///nonexistent/a.sock",
                   "cloudcontrol1004": "unix:///nonexistent/b.sock"}))
    return path


COMMANDS: list[tuple[str, ...]] = [("status", "{}"), ("health", "{}"), ("health", "eqiad1", "{}"),
                                   ("promote", "{}", "cloudcontrol1004"),
                                   ("promote", "eqiad1", "{}", "--dry-run"),
                                   ("verify", "{}"), ("verify", "eqiad1", "--expect", "{}"),
                                   ("check", "{}")]


@pytest.mark.parametrize("odd", ODD, ids=[repr(o)[:20] for o in ODD])
@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_odd_argument_is_a_clear_usage_error(run_cli: RunCli, config_path: Path,
                                             command: tuple[str, ...], odd: str) -> None:
    CASES["CLI arguments"] += 1
    args = [a.replace("{}", odd) for a in command]
    result = run_cli(*args, "--config", str(config_path))
    expected = 3 if command[0] == "check" else 2  # check: the plugin's UNKNOWN
    assert result.code == expected, (args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    message = result.stderr if command[0] != "check" else result.stdout
    assert message.strip() and len(message) < 2000
