"""Start-up stays cheap: importing the command line pulls in no heavy library.

`failover --help`, shell completion and every usage error run only `import failover.cli`;
git (GitPython), dns (dnspython), jinja2 and requests are imported where a command needs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("git", "dns", "jinja2", "requests")
ROOT = Path(__file__).resolve().parents[2]


def test_import_cli_pulls_in_none_of_git_dns_jinja2_requests() -> None:
    code = ("import json, sys; import failover.cli; "
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env, check=True)
    assert json.loads(done.stdout) == []
