from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

Cli = Any  # the `cli` fixture: cli(*args) -> Result(code, out, err)

WS = "gitops-prod"


def _write(cli: Cli, tmp_path: Path, path: str, content: bytes, *extra: str) -> Any:
    source = tmp_path / "upload.bin"
    source.write_bytes(content)
    result = cli("file", "write", WS, path, "--from", str(source), "-o", "json", *extra)
    return result


def test_init_prints_home_user_and_a_working_admin_key(cli: Cli, initialised: dict[str, Any]):
    assert set(initialised) == {"home", "user", "api_key"}
    assert initialised["user"]["name"] == "alice"
    assert initialised["api_key"].startswith("phk_")
    listed = cli("workspace", "list", "--api-key", initialised["api_key"], "-o", "json")
    assert listed.code == 0 and listed.json() == []


def test_init_twice_is_refused_with_a_code(cli: Cli, initialised: dict[str, Any]):
    again = cli("init")
    assert again.code == 1
    assert again.err.startswith("error: conflict:")


def test_commands_before_init_explain_what_to_do(cli: Cli):
    result = cli("workspace", "list")
    assert result.code == 1
    assert "pilothouse init" in result.err
    assert "Traceback" not in result.err


def test_write_read_versions_round_trip_binary_bytes(
    cli: Cli, initialised: dict[str, Any], tmp_path: Path
):
    assert cli("workspace", "create", WS).code == 0
    blob = bytes(range(256)) * 4
    first = _write(cli, tmp_path, "/artifacts/model.bin", blob)
    assert first.code == 0 and first.json()["version"] == 1
    second = _write(cli, tmp_path, "/artifacts/model.bin", b"v2", "--if-version", "1")
    assert second.json()["version"] == 2
    target = tmp_path / "out.bin"
    assert (
        cli("file", "read", WS, "/artifacts/model.bin", "--version", "1", "--to", str(target)).code
        == 0
    )
    assert target.read_bytes() == blob
    as_json = cli("file", "read", WS, "/artifacts/model.bin", "--version", "1", "-o", "json").json()
    assert "content_base64" in as_json and as_json["size"] == len(blob)
    history = cli("file", "versions", WS, "/artifacts/model.bin", "-o", "json").json()
    assert [v["version"] for v in history] == [2, 1]


def test_stale_if_version_exits_nonzero_with_version_conflict(
    cli: Cli, initialised: dict[str, Any], tmp_path: Path
):
    cli("workspace", "create", WS)
    _write(cli, tmp_path, "/status/validated.json", b"{}")
    _write(cli, tmp_path, "/status/validated.json", b'{"a":1}')
    stale = _write(cli, tmp_path, "/status/validated.json", b"{}", "--if-version", "1")
    assert stale.code == 1
    assert stale.err.startswith("error: version_conflict:")
    text = cli("file", "read", WS, "/status/validated.json", "-o", "json").json()["content"]
    assert text == '{"a":1}'


def test_path_traversal_is_refused_with_invalid_path(
    cli: Cli, initialised: dict[str, Any], tmp_path: Path
):
    cli("workspace", "create", WS)
    result = _write(cli, tmp_path, "../../etc/passwd", b"x")
    assert result.code == 1
    assert result.err.startswith("error: invalid_path:")


def test_listing_shows_directories_one_level_and_everything_recursively(
    cli: Cli, initialised: dict[str, Any], tmp_path: Path
):
    cli("workspace", "create", WS)
    for path in ["/status/a.json", "/status/b.json", "/runs/1/log.txt", "/README.md"]:
        _write(cli, tmp_path, path, b"x")
    top = cli("file", "list", WS, "/", "-o", "json").json()
    assert [e["path"] for e in top["entries"]] == ["/README.md", "/runs/", "/status/"]
    everything = cli("file", "list", WS, "/", "--recursive", "--limit", "2", "-o", "json").json()
    assert len(everything["entries"]) == 2 and everything["next_cursor"]
    rest = cli(
        "file",
        "list",
        WS,
        "/",
        "-r",
        "--limit",
        "10",
        "--cursor",
        everything["next_cursor"],
        "-o",
        "json",
    ).json()
    seen = [e["path"] for e in everything["entries"] + rest["entries"]]
    assert seen == ["/README.md", "/runs/1/log.txt", "/status/a.json", "/status/b.json"]


def test_tree_lock_blocks_a_file_lock_inside_until_released(cli: Cli, initialised: dict[str, Any]):
    cli("workspace", "create", WS)
    grant = cli("lock", "acquire", WS, "/status/", "--tree", "--ttl", "60", "-o", "json").json()
    assert grant["scope"] == "tree" and grant["token"].startswith("phl_")
    blocked = cli("lock", "acquire", WS, "/status/deployed.json")
    assert blocked.code == 1 and blocked.err.startswith("error: lock_held:")
    assert "alice" in blocked.err
    listed = cli("lock", "list", WS, "-o", "json").json()
    assert [lk["id"] for lk in listed] == [grant["lock_id"]]
    wrong = cli("lock", "release", WS, grant["lock_id"], "--token", "phl_wrong")
    assert wrong.code == 1 and wrong.err.startswith("error: lock_not_held:")
    assert cli("lock", "release", WS, grant["lock_id"], "--token", grant["token"]).code == 0
    after = cli("lock", "acquire", WS, "/status/deployed.json", "-o", "json").json()
    assert after["fencing_token"] > grant["fencing_token"]


def test_heartbeat_extends_the_lease(cli: Cli, initialised: dict[str, Any]):
    cli("workspace", "create", WS)
    grant = cli("lock", "acquire", WS, "/x", "--ttl", "10", "-o", "json").json()
    beat = cli(
        "lock",
        "heartbeat",
        WS,
        grant["lock_id"],
        "--token",
        grant["token"],
        "--ttl",
        "600",
        "-o",
        "json",
    ).json()
    assert beat["expires_at"] > grant["expires_at"]


def test_enforced_lock_refuses_writes_without_its_token(
    cli: Cli, initialised: dict[str, Any], tmp_path: Path
):
    cli("workspace", "create", WS)
    grant = cli("lock", "acquire", WS, "/status/", "--tree", "--enforce", "-o", "json").json()
    refused = _write(cli, tmp_path, "/status/deployed.json", b"{}")
    assert refused.code == 1 and refused.err.startswith("error: lock_held:")
    allowed = _write(cli, tmp_path, "/status/deployed.json", b"{}", "--lock-token", grant["token"])
    assert allowed.code == 0


def test_audit_verify_exits_one_naming_a_tampered_entry(
    cli: Cli, initialised: dict[str, Any], tmp_path: Path, home: Path
):
    cli("workspace", "create", WS)
    for n in range(3):
        _write(cli, tmp_path, f"/f{n}", b"x")
    intact = cli("audit", "verify", WS, "-o", "json")
    assert intact.code == 0 and intact.json()["ok"] is True
    import sqlite3

    with sqlite3.connect(home / "pilothouse.db") as db:
        db.execute("UPDATE audit SET target = '/evil' WHERE seq = 3 AND chain != 'global'")
    broken = cli("audit", "verify", WS)
    assert broken.code == 1
    assert "seq=3" in broken.out


def test_events_filter_by_type_family_and_resume_after_a_cursor(
    cli: Cli, initialised: dict[str, Any], tmp_path: Path
):
    cli("workspace", "create", WS)
    _write(cli, tmp_path, "/a", b"1")
    grant = cli("lock", "acquire", WS, "/a", "-o", "json").json()
    cli("lock", "release", WS, grant["lock_id"], "--token", grant["token"])
    locks = cli("events", WS, "--type", "lock.*", "-o", "json").json()
    assert [e["type"] for e in locks] == ["lock.acquired", "lock.released"]
    later = cli("events", WS, "--after", str(locks[0]["cursor"]), "-o", "json").json()
    assert [e["type"] for e in later] == ["lock.released"]


def test_api_key_of_a_read_only_agent_cannot_write(
    cli: Cli, initialised: dict[str, Any], tmp_path: Path
):
    cli("workspace", "create", WS)
    assert cli("agent", "create", WS, "monitor", "--role", "member").code == 0
    key = cli("apikey", "create", WS, "monitor", "--scope", "read", "-o", "json").json()["key"]
    reads = cli("file", "list", WS, "--api-key", key)
    assert reads.code == 0
    writes = _write(cli, tmp_path, "/x", b"1", "--api-key", key)
    assert writes.code == 1 and writes.err.startswith("error: forbidden:")
    audit = cli("audit", "list", WS, "-o", "json").json()
    assert audit[-1]["action"] == "apikey.create"


def test_ownership_moves_to_the_claimant_and_the_creator_stays_admin(
    cli: Cli, initialised: dict[str, Any]
):
    cli("workspace", "create", WS)
    cli("agent", "create", WS, "bob", "--role", "viewer")
    bob_key = cli("apikey", "create", WS, "bob", "--scope", "write", "-o", "json").json()["key"]
    token = cli("ownership", "transfer", WS, "-o", "json").json()["token"]
    claim = cli("ownership", "claim", token, "--api-key", bob_key)
    # a workspace-restricted key may not claim: it needs an unrestricted one
    assert claim.code == 1 and claim.err.startswith("error: forbidden:")


def test_file_write_reads_stdin_and_errors_never_print_tracebacks(
    home: Path, initialised: dict[str, Any]
):
    env = {**os.environ, "PILOTHOUSE_HOME": str(home)}
    exe = [sys.executable, "-m", "pilothouse.cli.main"]
    subprocess.run([*exe, "workspace", "create", WS], env=env, check=True, capture_output=True)
    written = subprocess.run(
        [*exe, "file", "write", WS, "/status/x.json", "-o", "json"],
        input=b'{"status": "succeeded"}',
        env=env,
        capture_output=True,
        check=True,
    )
    assert json.loads(written.stdout)["size"] == 23
    bad = subprocess.run(
        [*exe, "file", "read", WS, "/missing.json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == "error: not_found: no file at /missing.json"


def test_home_given_before_the_command_applies(
    cli: Cli, initialised: dict[str, Any], home: Path, monkeypatch: Any
):
    monkeypatch.setenv("PILOTHOUSE_HOME", "/nonexistent")
    assert cli("--home", str(home), "workspace", "list").code == 0
