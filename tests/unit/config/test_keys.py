"""The keys each section takes come from the model's fields: the same keys as ever (a contract)."""

from __future__ import annotations

import pytest

from failover.config.keys import toml_keys
from failover.config.model import (
    AUDIT_KEYS,
    HEALTH_KEYS,
    AlertmanagerConfig,
    Candidate,
    Config,
    Controller,
    DnsConfig,
    GerritConfig,
    HaproxyConfig,
    MetricsConfig,
    PhabricatorConfig,
    Recursor,
    Region,
    SalConfig,
    Service,
    VerifyConfig,
)

SET_KEYS = ("type", "min_members", "standby", "standby_follows")
"""A set record's keys and a commented standby's (services and groups alike)."""

SECTIONS = [
    (Config, None, {"dns", "gerrit", "verify", "haproxy", "regions", "audit", "sal",
                    "alertmanager", "phabricator", "services", "groups", "metrics", "safety"}),
    (HaproxyConfig, None, {"connect_timeout", "timeout", "max_bytes", "frontend_pattern",
                           "backend_pattern", "ssh_command", "ssh_config", "server_pattern"}),
    (DnsConfig, None, {"checkout", "zone_file", "topic", "reviewers", "hashtags", "deploy",
                       "deploy_timeout", "subject_topic", "deploy_probe", "netbox_snippets"}),
    (GerritConfig, None, {"url", "timeout", "review_timeout", "poll_interval", "ca_bundle",
                           "self_merge"}),
    (VerifyConfig, None, {"nameservers", "recursors", "timeout", "query_timeout", "interval",
                          "authdns_hosts", "wipe_timeout"}),
    (Recursor, None, {"address", "wipe"}),
    (Region, None, {"fqdn", "services", "controllers"}),
    (Controller, None, {"target", "stats", "ca_bundle"}),
    (Service, "services", {"zone_file", "fqdn", "records", "candidates", "topic",
                           "sal_project", "switch_ttl", *SET_KEYS}),
    (Service, "groups", {"zone_file", "sides", "members", "health", "topic", "sal_project",
                         "switch_ttl", *SET_KEYS}),
    (Candidate, None, {"target", "health"}),
    (SalConfig, None, {"host", "port", "project"}),
    (AlertmanagerConfig, None, {"url", "matchers", "timeout", "ca_bundle"}),
    (PhabricatorConfig, None, {"url", "timeout", "ca_bundle"}),
    (MetricsConfig, None, {"textfile"}),
]



@pytest.mark.parametrize(("cls", "variant", "keys"), SECTIONS,
                         ids=[f"{c.__name__}-{v}" for c, v, _ in SECTIONS])
def test_each_section_takes_its_keys(cls: type, variant: str | None, keys: set[str]) -> None:
    assert toml_keys(cls, variant) == keys


def test_each_health_kind_takes_its_keys() -> None:
    expected = {"tcp": {"host", "port", "timeout"},
                "http": {"url", "status", "contains", "ca_bundle", "timeout"},
                "command": {"argv", "timeout"},
                "haproxy": {"stats", "services", "ca_bundle"},
                "none": set()}
    assert dict(HEALTH_KEYS) == expected
    assert set(AUDIT_KEYS) == {"log"}
