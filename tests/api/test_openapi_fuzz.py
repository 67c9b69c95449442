"""schemathesis against our own /openapi.json: whatever it sends, never a 5xx."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_fuzzing_the_openapi_schema_finds_no_server_error(live: Any, api: Any, tmp_path: Path):
    exe = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    # Long-polls (up to 60 s) and the live stream would only time out under fuzzing; they
    # have their own tests. Every other operation is fuzzed, stateful phase included.
    result = subprocess.run(
        [
            exe,
            "run",
            f"{live.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--header",
            f"Authorization: Bearer {live.admin_key}",
            "--max-examples",
            "10",
            "--seed",
            "20261124",
            "--exclude-path-regex",
            "/events",
            "--request-timeout",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
