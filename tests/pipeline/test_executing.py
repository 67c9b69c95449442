"""The agent contract: command agents' reports, exit codes, output bounds; HTTP agents."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pilothouse.core.settings import Settings
from pilothouse.pipeline.executing import (
    AgentContext,
    CommandAgent,
    HttpAgent,
    Outcome,
    ShellAgent,
    report_from,
)
from tests.api.conftest import serve


def context(tmp_path: Path, *, seconds: float = 30, env: dict[str, str] | None = None) -> Any:
    return AgentContext(
        workspace=None,  # type: ignore[arg-type]
        workspace_name="ws",
        pipeline="p",
        stage="tester",
        run_id="run_1",
        revision="abc",
        changed_files=["manifests/a.yaml"],
        trigger={"kind": "manual"},
        settings=Settings(home=tmp_path, pipeline={"max_output_bytes": 4096}),
        logger=logging.getLogger("test"),
        env=env or {},
        read_repo_file=lambda path: b"",
        checkout=lambda: tmp_path,
        deadline=time.monotonic() + seconds,
        cancelled=threading.Event(),
        token="phk_test",
    )


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_the_last_stdout_line_is_the_report_and_the_event_arrives_on_stdin(tmp_path: Path):
    code = (
        "import json,sys; e=json.load(sys.stdin); print('working'); "
        "print(json.dumps({'status':'failed','summary':e['stage'],'findings':[e['changed_files']]}))"
    )
    out = CommandAgent(python(code)).run(context(tmp_path))
    assert (out.status, out.summary, out.findings) == ("failed", "tester", [["manifests/a.yaml"]])
    assert out.exit_code == 0 and out.stdout.startswith(b"working")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("pass", ("succeeded", False)),
        ("import sys; sys.stderr.write('boom\\n'); sys.exit(3)", ("failed", False)),
        ("import sys; sys.exit(75)", ("failed", True)),
    ],
)
def test_without_a_report_the_exit_code_decides(
    tmp_path: Path, code: str, expected: tuple[str, bool]
):
    out = CommandAgent(python(code)).run(context(tmp_path))
    assert (out.status, out.retryable) == expected
    if out.exit_code == 3:
        assert out.summary == "exited 3: boom"


def test_output_is_bounded_and_a_missing_program_is_a_clear_failure(tmp_path: Path):
    out = CommandAgent(python("print('x' * 100000)")).run(context(tmp_path))
    assert len(out.stdout) < 4200 and out.stdout.startswith(b"[... truncated ...]")
    missing = CommandAgent(["/nonexistent/agent"]).run(context(tmp_path))
    assert missing.status == "failed" and "cannot start" in missing.summary


def test_a_command_past_its_deadline_is_killed_as_timed_out(tmp_path: Path):
    started = time.monotonic()
    out = CommandAgent(python("import time; time.sleep(60)")).run(context(tmp_path, seconds=0.5))
    assert out.status == "timed_out"
    assert time.monotonic() - started < 10


def test_the_shell_builtin_runs_env_script(tmp_path: Path):
    ok = ShellAgent().run(context(tmp_path, env={"SCRIPT": "echo hi; exit 0"}))
    assert ok.status == "succeeded" and ok.stdout == b"hi\n"
    assert ShellAgent().run(context(tmp_path)).status == "failed"


def test_report_from_ignores_lines_that_are_not_a_status_object():
    assert report_from('{"status": "succeeded"}\n\n') == {"status": "succeeded"}
    assert report_from('{"status": "maybe"}') is None
    assert report_from("[1, 2]") is None
    assert report_from("") is None


@pytest.fixture
def agent_server() -> Iterator[str]:
    async def verdict(request: Request) -> Response:
        event = json.loads(await request.body())
        assert request.headers["authorization"] == "Bearer phk_test"
        return JSONResponse({"status": "succeeded", "summary": f"saw {event['stage']}"})

    async def broken(_request: Request) -> Response:
        return Response("no", status_code=503)

    async def nonsense(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[
            Route("/verdict", verdict, methods=["POST"]),
            Route("/broken", broken, methods=["POST"]),
            Route("/nonsense", nonsense, methods=["POST"]),
        ]
    )
    yield from serve(app)


def test_http_agents_post_the_event_and_read_the_verdict(tmp_path: Path, agent_server: str):
    ok: Outcome = HttpAgent(f"{agent_server}/verdict").run(context(tmp_path))
    assert (ok.status, ok.summary) == ("succeeded", "saw tester")
    down = HttpAgent(f"{agent_server}/broken").run(context(tmp_path))
    assert (down.status, down.retryable) == ("failed", True)
    odd = HttpAgent(f"{agent_server}/nonsense").run(context(tmp_path))
    assert (odd.status, odd.retryable) == ("failed", False)
    gone = HttpAgent("http://127.0.0.1:9/").run(context(tmp_path))
    assert (gone.status, gone.retryable) == ("failed", True)
