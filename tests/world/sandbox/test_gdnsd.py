"""Tests for sandbox.gdnsd: start, serve, reload, reject a broken zone, stop."""

from __future__ import annotations

import dns.message
import dns.query
import pytest

from sandbox.gdnsd import GdnsdError, start_gdnsd, wikimediacloud_zone

ZONE = "wikimediacloud.org"
NAME = "openstack.eqiad1.wikimediacloud.org"


def cname_at(port: int) -> str:
    """Return the CNAME target gdnsd on `port` answers for NAME (over TCP)."""
    reply = dns.query.tcp(dns.message.make_query(NAME, "A"), "127.0.0.1", port=port, timeout=2)
    return str(reply.answer[0][0].target)


def test_serves_reloads_and_stops() -> None:
    with start_gdnsd({ZONE: wikimediacloud_zone()}, listeners=2) as server:
        workdir, process = server.workdir, server.process
        assert process is not None and len(set(server.ports)) == 2
        assert server.address == f"127.0.0.1:{server.port}"
        assert str(server.nameservers[1]) == server.addresses[1]
        assert [cname_at(p) for p in server.ports] == ["cloudcontrol1003.wikimedia.org."] * 2
        server.set_zone(ZONE, wikimediacloud_zone({"eqiad1": "cloudcontrol1004.wikimedia.org."}))
        assert cname_at(server.port) == "cloudcontrol1003.wikimedia.org."  # not before reload
        server.reload()
        assert cname_at(server.port) == "cloudcontrol1004.wikimedia.org."
    assert process.poll() is not None
    assert not workdir.exists()


def test_broken_zone_is_rejected_and_old_data_still_served() -> None:
    with start_gdnsd({ZONE: wikimediacloud_zone()}) as server:
        server.set_zone(ZONE, wikimediacloud_zone(extra="openstack 5M IN CNAME\n"))
        with pytest.raises(GdnsdError, match="reload-zones failed"):
            server.reload()
        assert cname_at(server.port) == "cloudcontrol1003.wikimedia.org."


def test_bad_zone_at_start_is_reported() -> None:
    with pytest.raises(GdnsdError, match="gdnsd exited"), start_gdnsd({ZONE: "garbage\n"}):
        pass
