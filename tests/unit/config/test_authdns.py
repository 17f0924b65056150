"""[verify] authdns_hosts (port 5353 unless given) and recursors as tables with a wipe argv
(issue 25): parsed as the examples write them; each bad entry named."""

from __future__ import annotations

import pytest

from failover.config import Nameserver, load_config
from failover.errors import ConfigError
from tests.conftest import ConfigFile
from tests.unit.config.test_services import IRC

VERIFY = """
[verify]
nameservers = ["208.80.154.238"]
authdns_hosts = ["dns1004.wikimedia.org", "127.53.1.2:5300", "[2620:0:861:3:208:80:154:238]"]
recursors = ["10.3.0.1",
             {address = "10.3.0.2:53", wipe = ["ssh", "dns1004", "sudo", "rec_control",
                                              "wipe-cache", "{name}$"]}]
"""


def test_hosts_default_to_5353_and_recursor_tables_keep_their_wipe(
        config_file: ConfigFile) -> None:
    verify = load_config(config_file(VERIFY, IRC)).verify
    assert verify.authdns_hosts == (
        Nameserver("dns1004.wikimedia.org", 5353), Nameserver("127.53.1.2", 5300),
        Nameserver("2620:0:861:3:208:80:154:238", 5353))
    assert verify.recursors == (Nameserver("10.3.0.1"), Nameserver("10.3.0.2"))
    (wiped,) = verify.recursor_wipes
    assert wiped.server == Nameserver("10.3.0.2")
    assert wiped.wipe_argv("irc.wikimedia.org.")[-1] == "irc.wikimedia.org$"


@pytest.mark.parametrize(("entry", "problem"), [
    ('{address = "10.3.0.2", wipe = ["rec_control", "wipe-cache", "{host}$"]}',
     "the only placeholder is {name}"),
    ('{address = "10.3.0.2", wipe = ["rec_control", "wipe-cache"]}', "must contain {name}"),
    ('{wipe = ["rec_control", "{name}"]}', "address] missing"),
    ('{address = "10.3.0.2", wipe = ["x", "{name}"], shell = true}', "unknown key"),
    ("42", 'must be "host[:port]" or a table'),
])
def test_a_bad_recursor_is_named(config_file: ConfigFile, entry: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(config_file(f"[verify]\nrecursors = [{entry}]\n", IRC))
    assert problem in str(caught.value.problems), caught.value.problems


def test_a_host_listed_twice_is_named(config_file: ConfigFile) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(config_file('[verify]\nauthdns_hosts = ["dns1004", "dns1004:5353"]\n', IRC))
    assert "lists a host twice" in str(caught.value.problems)
