"""The configuration: the frozen dataclasses (`model`), reading the file (`load`) and
validating it (`parse`). Callers import from here.

Examples:
    >>> cfg = load_config(Path("examples/sandbox.toml"))      # doctest: +SKIP
    >>> cfg.region("eqiad1").controller("cloudcontrol1004").target
    'cloudcontrol1004.wikimedia.org.'
"""

from failover.config.load import (
    load_config,
)
from failover.config.model import (
    AUTHDNS_PORT,
    DEFAULT_SERVICES,
    DEPLOY_PLACEHOLDER,
    Candidate,
    Config,
    Controller,
    DnsConfig,
    GerritConfig,
    HaproxyConfig,
    Health,
    Nameserver,
    Recursor,
    Region,
    SalConfig,
    Service,
    VerifyConfig,
)
from failover.config.parse import parse_config
from failover.config.parse_verify import parse_nameserver
from failover.names import (
    normalize_target,
    record_type_for,
    redact_url,
)

__all__ = [
    "AUTHDNS_PORT",
    "DEFAULT_SERVICES",
    "DEPLOY_PLACEHOLDER",
    "Candidate",
    "Config",
    "Controller",
    "DnsConfig",
    "GerritConfig",
    "HaproxyConfig",
    "Health",
    "Nameserver",
    "Recursor",
    "Region",
    "SalConfig",
    "Service",
    "VerifyConfig",
    "load_config",
    "normalize_target",
    "parse_config",
    "parse_nameserver",
    "record_type_for",
    "redact_url",
]
