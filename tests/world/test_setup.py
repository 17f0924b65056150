"""The README's set-up works on a fresh Debian machine: with Debian's own /usr/bin/python3
first on PATH (PEP 668: no pip install into it), `make venv` in a clean clone makes the
project's .venv and installs the tool there; nothing goes into the system Python.

Slow (a venv and a pip install, from pip's cache: about a minute). The Debian packages must
already be there (`make install-system`): the test never runs apt-get.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEBIAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
SYSTEM_PYTHON = Path("/usr/bin/python3")


def deb_commands() -> list[str]:
    """Return the commands the Makefile's install-system checks for."""
    m = re.search(r"^DEB_COMMANDS := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert m, "Makefile has no DEB_COMMANDS"
    return m.group(1).split()


def missing_for_setup() -> str:
    """Return why the test cannot run here (empty: it can)."""
    if not SYSTEM_PYTHON.exists():
        return "no /usr/bin/python3"
    gone = [c for c in deb_commands() if not Path(c).exists()]
    if gone:
        return f"Debian packages missing ({', '.join(gone)}): make install-system"
    done = subprocess.run([str(SYSTEM_PYTHON), "-c", "import ensurepip"], check=False,
                          capture_output=True, timeout=30)
    return "" if done.returncode == 0 else "python3-venv missing: make install-system"


def debian_env() -> dict[str, str]:
    """Return the environment of a fresh Debian shell: Debian's PATH only (no pyenv, no user
    bin, no PYTHONPATH of the caller's checkout, no bytecode cache of the suite's: the new
    venv's files would pile up there), pip's cache kept."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYENV", "VIRTUAL_ENV"))
           and k not in ("PYTHONPATH", "PYTHONPYCACHEPREFIX")}
    return {**env, "PATH": DEBIAN_PATH, "PYTHONNOUSERSITE": "1"}


def make(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run make in `clone` in a fresh Debian shell's environment."""
    return subprocess.run(["make", *args], cwd=clone, env=debian_env(), capture_output=True,
                          text=True, timeout=900, check=False)


@pytest.mark.timeout(1000)
@pytest.mark.skipif(bool(missing_for_setup()), reason=missing_for_setup() or "-")
def test_make_venv_on_a_clean_clone_uses_debian_python3_and_its_own_venv(
        tmp_path: Path) -> None:
    clone = tmp_path / "clone"  # not "failover": tmp_path is the cwd of the imports below
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120,
                   capture_output=True)
    assert not (clone / ".venv").exists()

    first = make(clone, "venv")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "setting up .venv" in first.stdout
    assert "externally-managed-environment" not in first.stdout + first.stderr

    py = clone / ".venv" / "bin" / "python"
    assert py.resolve() == SYSTEM_PYTHON.resolve(), "the venv is not Debian's python3's"
    version = subprocess.run([str(clone / ".venv" / "bin" / "failover"), "--version"],
                             env=debian_env(), capture_output=True, text=True, timeout=60,
                             check=False)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("failover "), version.stdout
    where = subprocess.run([str(py), "-c", "import failover, sys; print(failover.__file__);"
                            " print(sys.prefix != sys.base_prefix)"],
                           cwd=tmp_path, env=debian_env(), capture_output=True, text=True,
                           timeout=60, check=True).stdout.split()
    assert where == [str(clone / "failover" / "__init__.py"), "True"]
    for tool in ("pytest", "ruff", "mypy", "xdist"):
        subprocess.run([str(py), "-c", f"import {tool}"], cwd=tmp_path, env=debian_env(),
                       check=True, timeout=60)

    # the system python is untouched: it has no failover of its own
    system = subprocess.run([str(SYSTEM_PYTHON), "-c", "import failover"], cwd=tmp_path,
                            env=debian_env(), capture_output=True, timeout=60, check=False)
    assert system.returncode != 0

    again = make(clone, "venv")
    assert again.returncode == 0 and "setting up" not in again.stdout, again.stdout

    future = time.time() + 60
    os.utime(clone / "pyproject.toml", (future, future))
    planned = make(clone, "-n", "venv")
    assert "venv --clear .venv" in planned.stdout, planned.stdout
