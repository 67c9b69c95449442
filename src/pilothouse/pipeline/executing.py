"""Agents as the runner sees them: one protocol, three ways to be one.

An agent gets an :class:`AgentContext` and returns an :class:`Outcome`. It never
writes its own status file — the runner does, as a complete replacement, so a
crashed or buggy agent cannot leave a half-written status behind.

* **built-in** — a Python class in :data:`BUILTINS`, named ``builtin:<name>`` in
  ``pilothouse.yaml``. This package ships ``noop`` and ``shell``; the real
  validator, tester, deployer and monitor register themselves from
  :mod:`pilothouse.agents`.
* **command** — any executable. The event arrives as JSON on stdin; the
  environment carries ``PILOTHOUSE_URL``, ``PILOTHOUSE_TOKEN`` (a short-lived key of
  the stage's agent identity), ``PILOTHOUSE_RUN_ID``, ``PILOTHOUSE_WORKSPACE``,
  ``PILOTHOUSE_STAGE``, ``PILOTHOUSE_REVISION``, ``PILOTHOUSE_CHECKOUT`` (the
  repository at the revision, also the working directory) and, under a
  ``requires_lock``, ``PILOTHOUSE_LOCK_TOKEN`` / ``PILOTHOUSE_FENCING_TOKEN``. The
  agent reports by printing one JSON object as the last line of stdout,
  ``{"status": "succeeded"|"failed", "summary": …, "findings": […]}``; without it the
  exit code decides (0 succeeded, anything else failed, 75 = EX_TEMPFAIL a
  temporary failure that is retried). stdout and stderr are kept, bounded.
* **http** — the event is POSTed as JSON; a 2xx JSON answer of the same shape is
  the result; 5xx and connection errors are temporary.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import httpx

from pilothouse.core.errors import PilothouseError
from pilothouse.core.settings import Settings
from pilothouse.pipeline.uses import BuiltinUses, CommandUses, Uses
from pilothouse.workspace.protocol import Workspace

EX_TEMPFAIL = 75
STATUSES = frozenset({"succeeded", "failed"})


@dataclass(frozen=True)
class Outcome:
    """What an agent run came to."""

    status: str  # succeeded | failed | timed_out | cancelled
    summary: str = ""
    findings: list[Any] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    retryable: bool = False
    exit_code: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)  # merged into the status file
    comment: str | None = None  # the pull-request comment, when the agent writes its own
    status_context: str | None = None  # GitHub commit-status context (pilothouse/<stage>)


@dataclass
class AgentContext:
    """Everything a stage gets; agents reach storage only through ``workspace``."""

    workspace: Workspace
    workspace_name: str
    pipeline: str
    stage: str
    run_id: str
    revision: str | None
    changed_files: list[str]
    trigger: dict[str, Any]
    settings: Settings
    logger: logging.Logger
    env: dict[str, str]
    read_repo_file: Callable[[str], bytes]
    checkout: Callable[[], Path]
    deadline: float  # time.monotonic() by which the agent must be done
    cancelled: threading.Event
    repo_files: Callable[[], list[str]] = list
    search: Callable[[str, int, str], list[str]] = lambda _q, _n, _prefix: []
    """Workspace paths whose content answers ``query`` (hybrid search), under a prefix."""
    model: str | None = None  # the stage's LLM, from pilothouse.yaml
    server_url: str = ""
    token: str = ""
    lock_token: str | None = None
    fencing_token: int | None = None

    def event(self) -> dict[str, Any]:
        """The JSON event command and HTTP agents receive."""
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "stage": self.stage,
            "workspace": self.workspace_name,
            "revision": self.revision,
            "changed_files": self.changed_files,
            "trigger": self.trigger,
            "fencing_token": self.fencing_token,
        }

    @property
    def remaining(self) -> float:
        return self.deadline - time.monotonic()


class Agent(Protocol):
    def run(self, ctx: AgentContext) -> Outcome: ...


AgentFactory = Callable[[], Agent]
BUILTINS: dict[str, AgentFactory] = {}


def builtin(name: str) -> Callable[[AgentFactory], AgentFactory]:
    """Register a built-in agent under ``builtin:<name>``."""

    def register(factory: AgentFactory) -> AgentFactory:
        BUILTINS[name] = factory
        return factory

    return register


@builtin("noop")
class NoopAgent:
    """Succeeds at once; for wiring pipelines and measuring the engine."""

    def run(self, ctx: AgentContext) -> Outcome:
        return Outcome("succeeded", f"noop for {len(ctx.changed_files)} changed file(s)")


@builtin("shell")
class ShellAgent:
    """Runs ``env.SCRIPT`` with ``sh -c`` in the checkout, like a command agent."""

    def run(self, ctx: AgentContext) -> Outcome:
        script = ctx.env.get("SCRIPT")
        if not script:
            return Outcome("failed", "builtin:shell needs env.SCRIPT (the shell script to run)")
        return CommandAgent(["/bin/sh", "-c", script]).run(ctx)


def report_from(text: str) -> dict[str, Any] | None:
    """The agent's report: its last non-empty stdout line, if it is a JSON object."""
    for line in reversed(text.splitlines()):
        if line.strip():
            try:
                value = json.loads(line)
            except ValueError:
                return None
            if isinstance(value, dict) and value.get("status") in STATUSES:
                return value
            return None
    return None


def _tail(handle: IO[bytes], limit: int) -> bytes:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - limit))
    data = handle.read()
    return (b"[... truncated ...]\n" + data) if size > limit else data


def _findings(report: Mapping[str, Any]) -> list[Any]:
    found = report.get("findings", [])
    return list(found) if isinstance(found, list) else [found]


class CommandAgent:
    """A subprocess; see the module docstring for its contract."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv

    def _env(self, ctx: AgentContext, checkout: Path) -> dict[str, str]:
        env = dict(os.environ)
        env.update(ctx.env)
        env.update(
            {
                "PILOTHOUSE_URL": ctx.server_url,
                "PILOTHOUSE_TOKEN": ctx.token,
                "PILOTHOUSE_RUN_ID": ctx.run_id,
                "PILOTHOUSE_WORKSPACE": ctx.workspace_name,
                "PILOTHOUSE_PIPELINE": ctx.pipeline,
                "PILOTHOUSE_STAGE": ctx.stage,
                "PILOTHOUSE_REVISION": ctx.revision or "",
                "PILOTHOUSE_CHECKOUT": str(checkout),
            }
        )
        if ctx.lock_token is not None:
            env["PILOTHOUSE_LOCK_TOKEN"] = ctx.lock_token
            env["PILOTHOUSE_FENCING_TOKEN"] = str(ctx.fencing_token)
        return env

    def run(self, ctx: AgentContext) -> Outcome:
        checkout = ctx.checkout()
        limit = ctx.settings.pipeline.max_output_bytes
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.PIPE,
                    stdout=out,
                    stderr=err,
                    cwd=checkout,
                    env=self._env(ctx, checkout),
                    start_new_session=True,
                )
            except OSError as e:
                return Outcome("failed", f"cannot start {self.argv[0]!r}: {e.strerror or e}")
            assert proc.stdin is not None
            try:
                proc.stdin.write(json.dumps(ctx.event()).encode())
                proc.stdin.close()
            except BrokenPipeError:
                pass  # the agent did not read its event; that is its business
            ended = self._wait(proc, ctx)
            stdout, stderr = _tail(out, limit), _tail(err, limit)
        if ended is not None:
            return Outcome(ended, _ended_summary(ended, ctx), stdout=stdout, stderr=stderr)
        code = proc.returncode
        report = report_from(stdout.decode("utf-8", "replace"))
        if report is not None:
            return Outcome(
                str(report["status"]),
                str(report.get("summary", "")),
                _findings(report),
                {str(k): str(v) for k, v in dict(report.get("links") or {}).items()},
                exit_code=code,
                stdout=stdout,
                stderr=stderr,
            )
        if code == 0:
            return Outcome("succeeded", "exited 0", exit_code=0, stdout=stdout, stderr=stderr)
        last = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        return Outcome(
            "failed",
            f"exited {code}" + (f": {last[0][:300]}" if last[0] else ""),
            retryable=code == EX_TEMPFAIL,
            exit_code=code,
            stdout=stdout,
            stderr=stderr,
        )

    @staticmethod
    def _wait(proc: subprocess.Popen[bytes], ctx: AgentContext) -> str | None:
        """Wait for exit; ``"timed_out"``/``"cancelled"`` if we had to kill it."""
        while True:
            remaining = ctx.remaining
            if remaining <= 0 or ctx.cancelled.is_set():
                _kill(proc)
                return "cancelled" if ctx.cancelled.is_set() else "timed_out"
            try:
                proc.wait(timeout=min(remaining, 0.2))
                return None
            except subprocess.TimeoutExpired:
                continue


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, 9)
    proc.wait(timeout=10)


def _ended_summary(ended: str, ctx: AgentContext) -> str:
    if ended == "cancelled":
        return "cancelled while running"
    return f"did not finish within its time limit ({ctx.stage})"


class HttpAgent:
    """POST the event, read the verdict."""

    def __init__(self, url: str) -> None:
        self.url = url

    def run(self, ctx: AgentContext) -> Outcome:
        timeout = max(0.1, ctx.remaining)
        headers = {"Authorization": f"Bearer {ctx.token}"} if ctx.token else {}
        try:
            response = httpx.post(self.url, json=ctx.event(), headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            return Outcome("timed_out", f"{self.url} did not answer in time")
        except httpx.HTTPError as e:
            return Outcome("failed", f"{self.url}: {type(e).__name__}", retryable=True)
        if response.status_code >= 500:
            return Outcome("failed", f"{self.url} answered {response.status_code}", retryable=True)
        if not response.is_success:
            return Outcome("failed", f"{self.url} answered {response.status_code}")
        try:
            report = response.json()
        except ValueError:
            report = None
        if not isinstance(report, dict) or report.get("status") not in STATUSES:
            return Outcome("failed", f"{self.url} did not answer with a status object")
        return Outcome(str(report["status"]), str(report.get("summary", "")), _findings(report))


def _entry_point(name: str) -> AgentFactory | None:
    """A built-in agent an installed package provides (entry-point group ``pilothouse.agents``).

    The agents of :mod:`pilothouse.agents` live above this layer, so they are found
    like any plugin rather than imported.
    """
    for entry in importlib.metadata.entry_points(group="pilothouse.agents", name=name):
        factory: AgentFactory = entry.load()
        BUILTINS[name] = factory
        return factory
    return None


def make_agent(uses: Uses) -> Agent:
    """The agent for a stage's ``uses``."""
    if isinstance(uses, BuiltinUses):
        factory = BUILTINS.get(uses.name) or _entry_point(uses.name)
        if factory is None:
            known = ", ".join(sorted(BUILTINS))
            raise PilothouseError(
                f"no built-in agent {uses.name!r} (known: {known})", code="unknown_agent"
            )
        return factory()
    if isinstance(uses, CommandUses):
        return CommandAgent(list(uses.argv))
    return HttpAgent(uses.url)
