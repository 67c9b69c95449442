"""A real bare "origin" built with the git CLI, a seeding clone, and a mirror of it.

The git CLI (not pygit2) builds and inspects origin, so the tests check the
mirror against an independent implementation: what ``git log`` and ``git show``
in a fresh clone say is what a human reviewing the GitOps repository would see.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from pilothouse.integrations.git import Identity, Mirror

GIT_TIMEOUT = 30
SEED_FILES = {
    "pilothouse.yaml": "version: 1\nname: demo\n",
    "manifests/app.yaml": "kind: Deployment\nname: app\nreplicas: 1\nimage: app:1.0\n",
}


def _git_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
    )
    return env


@dataclass
class Origin:
    """The bare origin repository plus a work clone that plays "someone else pushing"."""

    path: Path
    work: Path
    home: Path

    def git(self, *args: str, cwd: Path | None = None) -> str:
        result = subprocess.run(
            ["git", "-c", "user.name=Seeder", "-c", "user.email=seeder@example.com", *args],
            cwd=cwd or self.work,
            env=_git_env(self.home),
            capture_output=True,
            text=True,
            check=True,
            timeout=GIT_TIMEOUT,
        )
        return result.stdout

    def push_commit(
        self, files: Mapping[str, str | None], message: str, branch: str = "main"
    ) -> str:
        """Write (or, for ``None``, delete) files in the work clone, commit, push; the sha."""
        self.git("fetch", "-q", "--prune", "origin")
        self.git("checkout", "-q", "-B", branch, f"origin/{branch}")
        for name, content in files.items():
            target = self.work / name
            if content is None:
                self.git("rm", "-q", name)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content)
                self.git("add", name)
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", f"HEAD:refs/heads/{branch}")
        return self.head(branch)

    def head(self, branch: str = "main") -> str:
        return self.git("rev-parse", f"refs/heads/{branch}", cwd=self.path).strip()

    def fresh_clone(self, name: str = "check") -> Path:
        target = self.home / name
        self.git("clone", "-q", str(self.path), str(target), cwd=self.home)
        return target


def make_origin(root: Path, *, seed: bool = True) -> Origin:
    home = root / "githome"
    home.mkdir(parents=True)
    origin = Origin(path=root / "origin.git", work=root / "seed", home=home)
    origin.git("init", "-q", "--bare", "-b", "main", str(origin.path), cwd=root)
    origin.git("clone", "-q", str(origin.path), str(origin.work), cwd=root)
    if seed:
        origin.git("symbolic-ref", "HEAD", "refs/heads/main")
        for name, content in SEED_FILES.items():
            target = origin.work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        origin.git("add", ".")
        origin.git("commit", "-q", "-m", "Seed the GitOps repository")
        origin.git("push", "-q", "origin", "main")
    return origin


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    return make_origin(tmp_path)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "home" / "repos" / "ws_test.git"


@pytest.fixture
def mirror(origin: Origin, cache_dir: Path) -> Iterator[Mirror]:
    opened = Mirror.open(cache_dir, str(origin.path))
    yield opened
    opened.close()


@pytest.fixture
def agent() -> Identity:
    return Identity("deployer-agent", "deployer@agents.pilothouse.test")


class _AlwaysUnauthorized(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def unauthorized_url() -> Iterator[str]:
    """A loopback HTTP server that answers every git request with 401."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AlwaysUnauthorized)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/org/repo.git"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
