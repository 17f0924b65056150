"""A world on the real operations/dns: its files behind the Gerrit stand-in, gdnsd serving its
zones with its own configuration, and a deploy that serves what is merged.

The repository is either a directory of files (tests/data/realrepo: real templates and the
config utils/deploy-check.py assembles), committed once, or a commit of a real clone with its
history (`seed_commit`, for the replay). The gdnsd servers run the repository's `config`
(plugins geoip, metafo, ...; `geo-maps`, `geo-resources`, utils/mock_etc as CI mocks puppet's
files) with a `config-options` of the sandbox's own (listen on 127.0.0.1, run and state
directories), as puppet writes production's. Netbox's snippets are stood in for as the tool's
zone check does (`failover.zone.ci.stand_in_files`), before every load.

    python3 sandbox/realrepo.py --repo GITDIR --zone templates/wmnet --gdnsd DIR ... --yes

is the deploy command (authdns-update): stand-ins for what is merged, then the sandbox's
authdns-update.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

if __name__ == "__main__":  # run as a file (the deploy command): import from the repository root
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from failover.zone import render_template, zone_name
from failover.zone.ci import (
    DNS_CFG,
    GEOIP_DB,
    MOCK_ETC,
    PUPPET_CFG,
    STAND_IN_ADDRESS,
    records,
    stand_in_files,
)
from sandbox.dnsrepo import DnsSandbox, clone_operator_checkout, gitreview_text
from sandbox.gdnsd import Gdnsd, free_port
from sandbox.gerrit import GerritStandin, start_gerrit

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "data" / "realrepo"
"""Real operations/dns files copied into the project (see its README)."""
GIT_TIMEOUT = 120.0


def _git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", "-c", "user.name=Sandbox", "-c", "user.email=sandbox@example.org",
                           *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT,
                          check=True)
    return done.stdout.strip()


def seed_files(gerrit: GerritStandin, source: Path, *, branch: str = "master") -> str:
    """Commit every file under `source` (and a .gitreview) to the stand-in; return the id."""
    with tempfile.TemporaryDirectory(prefix="fo-seed-", dir="/tmp") as tmp:
        work = Path(tmp) / "dns"
        shutil.copytree(source, work, ignore=shutil.ignore_patterns("README.md", ".git"))
        (work / ".gitreview").write_text(gitreview_text(gerrit.ssh_port or gerrit.port,
                                                        gerrit.project))
        _git("init", "--quiet", "-b", branch, str(work))
        _git("add", "-A", cwd=work)
        _git("commit", "--quiet", "--no-verify", "-m", "operations/dns (real files)", cwd=work)
        _git("push", "--quiet", gerrit.git_url, f"HEAD:refs/heads/{branch}", cwd=work)
        return _git("rev-parse", "HEAD", cwd=work)


def seed_commit(gerrit: GerritStandin, clone: Path, commit: str, *,
                branch: str = "master") -> None:
    """Make the stand-in's `branch` the real clone's `commit` (with its history), forced.

    The stand-in borrows the clone's objects (git's alternates) rather than receiving a push
    of the whole history (minutes for operations/dns on a busy machine).
    """
    sha = _git("rev-parse", "--verify", f"{commit}^{{commit}}", cwd=clone)
    objects = Path(_git("rev-parse", "--path-format=absolute", "--git-path", "objects",
                        cwd=clone))
    alternates = Path(gerrit.git_dir) / "objects" / "info" / "alternates"
    alternates.parent.mkdir(parents=True, exist_ok=True)
    known = alternates.read_text().split("\n") if alternates.exists() else []
    if str(objects) not in known:
        with alternates.open("a", encoding="utf-8") as f:
            f.write(f"{objects}\n")
    _git("--git-dir", str(gerrit.git_dir), "update-ref", f"refs/heads/{branch}", sha)


@dataclass
class RepoGdnsd(Gdnsd):
    """A gdnsd run on the repository's own config (see the module); zones and stand-ins in."""

    source: Path = Path()
    """Where the config files are read: a checkout (or the fixtures)."""

    def write_config(self) -> None:
        """Assemble the directory as deploy-check.py does, with the sandbox's config-options."""
        for sub in ("zones", "run", "state", "geoip"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        for name in DNS_CFG:
            shutil.copyfile(self.source / name, self.workdir / name)
        for name in PUPPET_CFG:
            shutil.copyfile(self.source / MOCK_ETC / name, self.workdir / name)
        shutil.copyfile(self.source / MOCK_ETC / GEOIP_DB, self.workdir / GEOIP_DB)
        listen = ", ".join(self.addresses)
        (self.workdir / "config-options").write_text(
            f"listen => [ {listen} ]\nrun_dir => {self.workdir / 'run'}\n"
            f"state_dir => {self.workdir / 'state'}\ntcp_threads => 1\nudp_threads => 1\n")
        for name, text in self.zones.items():
            self.set_zone(name, text)

    def config_differs(self) -> bool:
        """Return True when the source's config files differ from those this gdnsd runs."""
        pairs = [(self.source / n, self.workdir / n) for n in DNS_CFG] + \
            [(self.source / MOCK_ETC / n, self.workdir / n) for n in PUPPET_CFG
             if n != "config-options"]
        return any(a.read_bytes() != b.read_bytes() for a, b in pairs)

    def set_zone(self, name: str, text: str) -> None:
        """Write zone `name` and its Netbox stand-ins; served after `reload()` (or at start)."""
        write_stand_ins(self.workdir, name, text)
        super().set_zone(name, text)


HOSTS_FILE = "netbox-hosts"
"""In a gdnsd's directory: the hosts the world's config names as targets, one a line; as
Netbox defines every host in production, the stand-ins define them (a candidate not yet
referenced by any record still resolves)."""


def write_stand_ins(server: Path, zone: str, rendered: str) -> None:
    """Write the stand-ins of the zone's `$INCLUDE netbox/...` files under the gdnsd directory
    `server`'s zones, with the world's hosts (HOSTS_FILE) of this zone the zone does not
    define itself."""
    hosts_file = server / HOSTS_FILE
    hosts = hosts_file.read_text(encoding="utf-8").split() if hosts_file.exists() else []
    zone_abs = zone.rstrip(".").lower() + "."
    files, owners = _zone_stand_ins(rendered, zone)
    files = dict(files)
    if files and hosts:
        first = next(iter(files))
        files[first] += "".join(f"{h} 3600 IN A {STAND_IN_ADDRESS}\n" for h in hosts
                                if h.endswith("." + zone_abs) and h not in owners
                                and f"{h} 3600 IN A" not in files[first])
    for rel, text in files.items():
        (server / "zones" / rel).parent.mkdir(parents=True, exist_ok=True)
        (server / "zones" / rel).write_text(text, encoding="utf-8")


@functools.lru_cache(maxsize=4)
def _zone_stand_ins(rendered: str, zone: str) -> tuple[dict[str, str], frozenset[str]]:
    """Return the zone's Netbox stand-ins and its owner names, read once per rendered text
    (every nameserver of a world gets the same)."""
    zone_abs = zone.rstrip(".").lower() + "."
    return stand_in_files(rendered, zone), frozenset(o for o, _t, _d in records(rendered,
                                                                              zone_abs))


@dataclass
class RealWorld:
    """The real repository behind the stand-in, an operator clone, gdnsd on its config."""

    workdir: Path
    dns: DnsSandbox
    gdnsd: list[RepoGdnsd]
    config_path: Path
    deploy_only: bool = False
    """The deploy serves only the zone file of the change (the replay's: a real repository
    has hundreds of templates), not every template."""

    @property
    def env(self) -> dict[str, str]:
        """Return the environment to run the tool in (its state kept in the world)."""
        return {**os.environ, "XDG_STATE_HOME": str(self.workdir / "state"),
                "FAILOVER_CONFIG": str(self.config_path)}

    def deploy_argv(self, zone_file: str) -> list[str]:
        """Return this world's authdns-update command (`zone_file`'s changes shown first)."""
        argv = [sys.executable, str(Path(__file__).resolve()), "--repo",
                self.dns.gerrit.git_url, "--zone", zone_file, "--yes"]
        for g in self.gdnsd:
            argv += ["--gdnsd", str(g.workdir)]
        return argv + (["--only"] if self.deploy_only else [])

    def write_config(self, sections: Sequence[str], *, zone_file: str,
                     reload: bool = True) -> Path:
        """Write the tool's config: this world's [dns], [gerrit], [verify], then `sections`
        (`[services.*]`/`[groups.*]` tables as TOML text). The hosts it names are defined in
        the Netbox stand-ins of the zones served, reloaded now (`reload`) or at the next
        `serve_branch`."""
        deploy = ", ".join(_q(a) for a in self.deploy_argv(zone_file))
        nameservers = ", ".join(f'"{g.address}"' for g in self.gdnsd)
        lines = ["[dns]", f"checkout = {_q(str(self.dns.checkout))}",
                 f"zone_file = {_q(zone_file)}", f"deploy = [{deploy}]", "deploy_timeout = 60",
                 "", "[gerrit]", f"url = {_q(self.dns.gerrit.rest_url)}", "timeout = 5",
                 "review_timeout = 60", "poll_interval = 0.2", "",
                 "[verify]", f"nameservers = [{nameservers}]", "timeout = 20",
                 "query_timeout = 1", "interval = 0.2", "",
                 "[audit]", f"log = {_q(str(self.workdir / 'audit.log'))}", "",
                 # replays flips written seconds apart: the flap window (tests/world/
                 # test_others.py) would refuse each; these worlds test the editor
                 "[safety]", "flap_window = 0", "", *sections]
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        quoted = re.findall(r'"([A-Za-z0-9.-]+\.)"', "\n".join(sections))
        hosts = sorted({h.lower() for h in quoted})
        for server in self.gdnsd:
            (server.workdir / HOSTS_FILE).write_text("\n".join(hosts) + "\n", encoding="utf-8")
            if not reload:
                continue
            for zone in (server.workdir / "zones").iterdir():  # as served now (a deploy
                if zone.is_file():  # writes them from another process)
                    write_stand_ins(server.workdir, zone.name, zone.read_text(encoding="utf-8"))
            server.reload()
        return self.config_path

    def serve_branch(self, zone_file: str = "templates/wikimedia.org") -> None:
        """Serve `zone_file` as the stand-in's master holds it now (as after a deploy), with
        its Netbox stand-ins, and the zones of the config's hosts in other zones (a wmnet
        record pointing to install2004.wikimedia.org.: Netbox defines it in production); in
        this process (the deploy command's work without its start-up: the replay serves
        every commit's parent); one reload per nameserver."""
        from sandbox.authdns_update import merged_template

        git_dir = str(self.dns.gerrit.git_dir)
        wanted = [zone_file, *(p for p in self._host_templates() if p != zone_file)]
        for path in wanted:
            zone = zone_name(path)
            served = self._served(zone) if path != zone_file else None
            text = served if served is not None else render_template(
                merged_template(git_dir, "master", path), serial=int(time.time()))
            for server in self.gdnsd:
                write_stand_ins(server.workdir, zone, text)
                if served is not None:
                    continue  # served already: its stand-ins now define the hosts
                target = server.workdir / "zones" / zone
                tmp = target.with_name(f".{zone}.tmp")
                tmp.write_text(text, errors="surrogateescape")  # bytes not UTF-8 kept
                os.replace(tmp, target)
                server.zones[zone] = text
        for server in self.gdnsd:
            server.reload()

    def _served(self, zone: str) -> str | None:
        """Return the text of `zone` as gdnsd serves it now: its file, which a deploy (another
        process) rewrites, so not the `zones` this process wrote last (a stand-in derived from
        those would leave the deployed change's new target undefined)."""
        try:
            return (self.gdnsd[0].workdir / "zones" / zone).read_text(
                encoding="utf-8", errors="surrogateescape")
        except FileNotFoundError:
            return None

    def _host_templates(self) -> list[str]:
        """Return the templates (`templates/ZONE` of the checkout) holding the config's hosts
        (HOSTS_FILE), each host's longest zone."""
        hosts_file = self.gdnsd[0].workdir / HOSTS_FILE
        hosts = hosts_file.read_text(encoding="utf-8").split() if hosts_file.exists() else []
        found: list[str] = []
        for host in hosts:
            labels = host.rstrip(".").split(".")
            for i in range(1, len(labels)):
                path = "templates/" + ".".join(labels[i:])
                if (self.dns.checkout / path).is_file():
                    if path not in found:
                        found.append(path)
                    break
        return found

    def reset_to(self, clone: Path, commit: str, *, zone_file: str) -> None:
        """Make the stand-in's master `commit` of `clone`, the operator clone follow, and serve
        `zone_file`; gdnsd restarts (zones cleared) when the repository's config changed."""
        seed_commit(self.dns.gerrit, clone, commit)
        _git("fetch", "--quiet", "origin", cwd=self.dns.checkout)
        _git("reset", "--quiet", "--hard", "origin/master", cwd=self.dns.checkout)
        for server in self.gdnsd:
            if server.config_differs():
                server.stop()
                shutil.rmtree(server.workdir / "zones", ignore_errors=True)
                server.zones = {}
                server.start()
        self.serve_branch(zone_file)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rendered_zones(checkout: Path, paths: Sequence[str]) -> dict[str, str]:
    """Return {zone name: rendered text} of the templates `paths` of `checkout`."""
    return {zone_name(p): render_template((checkout / p).read_text(encoding="utf-8"),
                                          serial=1, search_path=checkout / "templates")
            for p in paths}


@contextmanager
def start_real_world(source: Path = FIXTURES, *, clone: Path | None = None,
                     commit: str | None = None, nameservers: int = 2,
                     auto_merge_after: float | None = 0.3,
                     zones: Sequence[str] = ("templates/wikimedia.org", "templates/wmnet"),
                     workdir: Path | None = None,
                     deploy_only: bool = False, ssh: bool = True) -> Iterator[RealWorld]:
    """Yield a running RealWorld: `source`'s files (or `clone`'s `commit`, its history kept)
    behind the stand-in, gdnsd serving `zones` on the repository's config. `ssh`: the
    operator clones over the stand-in's SSH (as production); without, from its directory
    (the replay's: a clone of the whole history over SSH costs minutes)."""
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="fo-real-", dir="/tmp")) if workdir is None else workdir
    try:
        with ExitStack() as stack:
            gerrit = stack.enter_context(start_gerrit(root / "git", ssh=ssh,
                                                      auto_merge_after=auto_merge_after))
            if clone is not None and commit is not None:
                seed_commit(gerrit, clone, commit)
            else:
                seed_files(gerrit, source)
            checkout = clone_operator_checkout(gerrit, root / "dns")
            # the real .gitreview names production's Gerrit: the stand-in is this clone's
            # origin, as `git review -s` would have set it up
            _git("config", "gitreview.remote", "origin", cwd=checkout)
            served = rendered_zones(checkout, zones)
            servers: list[RepoGdnsd] = []
            for i in range(nameservers):
                server = RepoGdnsd(workdir=root / f"ns{i}", ports=(free_port(),),
                                   zones=dict(served), source=checkout)
                stack.callback(server.stop)
                server.start()
                servers.append(server)
            (root / "state").mkdir(mode=0o700, exist_ok=True)
            yield RealWorld(root, DnsSandbox(gerrit, checkout), servers, root / "config.toml",
                            deploy_only)
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)


def deploy_main(argv: list[str] | None = None) -> int:
    """The deploy command: Netbox stand-ins for the merged templates, then authdns-update."""
    from sandbox import authdns_update

    parser = authdns_update.arguments("authdns-update (sandbox, real repository)",
                                      "templates/wikimedia.org")
    parser.add_argument("--only", action="store_true", help="deploy --zone alone")
    args = parser.parse_args(argv)
    if args.only:  # the sandbox's authdns-update, on a repository holding this one template
        authdns_update.templates = lambda repo, branch: [args.zone]

    def stand_ins_then_deploy() -> int:
        for path in authdns_update.templates(args.repo, args.branch):
            text = render_template(authdns_update.merged_template(args.repo, args.branch, path),
                                   serial=int(time.time()))
            for directory in args.gdnsd:
                write_stand_ins(directory, zone_name(path), text)
        return authdns_update.deploy(args.repo, args.branch, args.zone, args.gdnsd,
                                     yes=args.yes)

    return authdns_update.reported(stand_ins_then_deploy)


if __name__ == "__main__":
    sys.exit(deploy_main())
