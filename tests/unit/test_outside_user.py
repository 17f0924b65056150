"""The operator's name as the cookbooks take it: failover.outside.username against wmflib's
own `get_username`, under each combination of SUDO_USER and USER."""

from __future__ import annotations

import pytest
from wmflib.interactive import get_username

from failover.outside import username


@pytest.mark.parametrize("sudo_user", [None, "root", "alice"])
@pytest.mark.parametrize("user", [None, "root", "bob"])
def test_username_follows_wmflib(monkeypatch: pytest.MonkeyPatch, sudo_user: str | None,
                                 user: str | None) -> None:
    for key, value in (("SUDO_USER", sudo_user), ("USER", user)):
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    assert username() == get_username()
    assert username() == (sudo_user if sudo_user not in (None, "root") else user or "-")
