"""failover: move a Cloud VPS region's OpenStack API name between controllers."""

__version__ = "0.1.0"
