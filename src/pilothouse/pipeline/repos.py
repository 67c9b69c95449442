"""Repositories as the engine uses them: one mirror per workspace, pipelines per revision.

``pilothouse.yaml`` is read from the repository *at the triggering revision*, so a
pipeline change is versioned and reviewed like any other change, and a run started
by an old commit keeps the pipeline it was started with. Parsed pipelines are cached
by (workspace, commit) — a commit never changes — and mirrors by workspace; each
mirror serialises its own operations, so one cache serves every worker thread.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from pilothouse.integrations.git import Mirror, kind_of
from pilothouse.integrations.git.errors import NotFound as GitNotFound
from pilothouse.pipeline import config
from pilothouse.pipeline.errors import NoPipeline, PipelineError
from pilothouse.pipeline.store import Repo

PIPELINE_FILE = "pilothouse.yaml"


def git_token(url: str, token: str | None) -> str | None:
    """The token goes to git only over https; it may be there just for the GitHub API."""
    return token if kind_of(url) == "https" else None


class RepoCache:
    """Mirrors and parsed pipelines, shared by the threads of one process."""

    def __init__(self, cache_dir: Path, *, max_pipelines: int = 256) -> None:
        self.cache_dir = cache_dir
        self._mirrors: dict[str, tuple[tuple[str, str | None], Mirror]] = {}
        self._pipelines: OrderedDict[tuple[str, str], config.Pipeline | PipelineError] = (
            OrderedDict()
        )
        self._max = max_pipelines
        self._lock = threading.Lock()

    def mirror(self, repo: Repo) -> Mirror:
        """The workspace's mirror, cloned on first use; re-opened when the URL or token changed."""
        key = (repo.url, repo.token)
        with self._lock:
            known = self._mirrors.get(repo.workspace_id)
            if known is not None and known[0] == key:
                return known[1]
        opened = Mirror.open(self._path(repo.workspace_id), repo.url, token=git_token(*key))
        with self._lock:
            self._mirrors[repo.workspace_id] = (key, opened)
        return opened

    def _path(self, workspace_id: str) -> Path:
        return self.cache_dir / f"{workspace_id}.git"

    def probe(self, workspace_id: str, url: str, token: str | None) -> Mirror:
        """A fresh clone of ``url`` beside the mirrors, to check a registration before it counts.

        Nothing of the workspace's current mirror is touched until :meth:`install`.
        """
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        room = Path(tempfile.mkdtemp(prefix=f"{workspace_id}.probe-", dir=self.cache_dir))
        try:
            return Mirror.open(room / "repo.git", url, token=git_token(url, token))
        except BaseException:
            shutil.rmtree(room, ignore_errors=True)
            raise

    def discard(self, probe: Mirror) -> None:
        probe.close()
        shutil.rmtree(probe.path.parent, ignore_errors=True)

    def install(self, workspace_id: str, probe: Mirror, token: str | None) -> None:
        """Make a probed clone the workspace's mirror (the registration was stored)."""
        url = probe.url
        probe.close()
        target = self._path(workspace_id)
        with self._lock:
            self._mirrors.pop(workspace_id, None)
            shutil.rmtree(target, ignore_errors=True)
            probe.path.rename(target)
            shutil.rmtree(probe.path.parent, ignore_errors=True)
            self._mirrors[workspace_id] = (
                (url, token),
                Mirror.open(target, url, token=git_token(url, token)),
            )

    def pipeline_at(self, repo: Repo, revision: str) -> config.Pipeline:
        """The pipeline at ``revision`` (a commit sha); raises ``no_pipeline``/``invalid_pipeline``.

        A commit never changes, so the answer — a pipeline or the error — is kept: the
        watcher asks about the branch tip every second.
        """
        key = (repo.workspace_id, revision)
        with self._lock:
            cached = self._pipelines.get(key)
            if cached is not None:
                self._pipelines.move_to_end(key)
        if cached is None:
            cached = self._load(repo, revision)
            with self._lock:
                self._pipelines[key] = cached
                while len(self._pipelines) > self._max:
                    self._pipelines.popitem(last=False)
        if isinstance(cached, PipelineError):
            raise cached.with_traceback(None)
        return cached

    def _load(self, repo: Repo, revision: str) -> config.Pipeline | PipelineError:
        mirror = self.mirror(repo)
        try:
            mirror.resolve(revision)
        except GitNotFound:  # pushed after this process last fetched: fetch once, then decide
            mirror.fetch()  # still missing afterwards: git_not_found, not kept
        try:
            text = mirror.read_file(revision, PIPELINE_FILE)
        except GitNotFound:
            return NoPipeline(
                f"{PIPELINE_FILE} is not in the repository at {revision[:12]}",
                details={"revision": revision},
            )
        try:
            return config.load_pipeline(text.decode("utf-8", "replace"), source=PIPELINE_FILE)
        except PipelineError as e:
            return e
