"""The configuration: the frozen dataclasses (`model`), reading the file (`load`) and
validating it (`parse`). Callers import from here.

Examples:
    >>> cfg = load_config(Path("examples/sandbox.toml"))      # doctest: +SKIP
    >>> cfg.region("eqiad1").controller("cloudcontrol1004").target
    'cloudcontrol1004.wikimedia.org.'
"""

from failover.config.load import (
    MAX_CONFIG_BYTES,
    default_config_path,
    load_config,
    read_config_text,
)
from failover.config.model import (
    AUTHDNS_PORT,
    DEFAULT_SERVICES,
    DEPLOY_PLACEHOLDER,
    HEALTH_KINDS,
    STATS_SCHEMES,
    AlertmanagerConfig,
    Candidate,
    Config,
    Controller,
    DnsConfig,
    GerritConfig,
    HaproxyConfig,
    Health,
    Nameserver,
    PhabricatorConfig,
    Recursor,
    Region,
    SalConfig,
    Service,
    VerifyConfig,
)
from failover.config.parse import parse_config
from failover.config.parse_verify import parse_nameserver
from failover.names import (
    HOSTNAME_RE,
    NAME_RE,
    SUBJECT_TOPIC_RE,
    TOPIC_RE,
    normalize_target,
    record_type_for,
    redact_url,
    validate_name,
)

__all__ = [
    "AUTHDNS_PORT",
    "DEFAULT_SERVICES",
    "DEPLOY_PLACEHOLDER",
    "HEALTH_KINDS",
    "HOSTNAME_RE",
    "MAX_CONFIG_BYTES",
    "NAME_RE",
    "STATS_SCHEMES",
    "SUBJECT_TOPIC_RE",
    "TOPIC_RE",
    "AlertmanagerConfig",
    "Candidate",
    "Config",
    "Controller",
    "DnsConfig",
    "GerritConfig",
    "HaproxyConfig",
    "Health",
    "Nameserver",
    "PhabricatorConfig",
    "Recursor",
    "Region",
    "SalConfig",
    "Service",
    "VerifyConfig",
    "default_config_path",
    "load_config",
    "normalize_target",
    "parse_config",
    "parse_nameserver",
    "read_config_text",
    "record_type_for",
    "redact_url",
    "validate_name",
]
