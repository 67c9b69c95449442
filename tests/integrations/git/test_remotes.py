from __future__ import annotations

from pathlib import Path

import pygit2
import pytest
from pygit2.enums import CredentialType

from pilothouse.integrations.git import (
    AuthFailed,
    Conflict,
    GitError,
    InvalidArgument,
    Unreachable,
    remotes,
)


def test_urls_are_classified_by_kind(tmp_path: Path):
    assert remotes.parse(str(tmp_path)).kind == "local"
    assert remotes.parse(str(tmp_path)).url == str(tmp_path)
    assert remotes.parse(tmp_path.as_uri()).kind == "file"
    assert remotes.parse("https://git.example.com/org/repo.git", token="t").kind == "https"
    assert remotes.parse("http://gitea.local:3000/org/repo.git").kind == "http"
    assert remotes.parse("ssh://git@git.example.com/org/repo.git").kind == "ssh"
    assert remotes.parse("git@github.com:org/repo.git").kind == "ssh"


def test_a_relative_local_path_becomes_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "origin.git").mkdir()
    monkeypatch.chdir(tmp_path)

    assert remotes.parse("origin.git").url == str(tmp_path / "origin.git")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "git://git.example.com/repo.git",
        "ext::sh -c touch% /tmp/pwned",
        "https://user:secret@git.example.com/repo.git",
        "https://x-access-token@git.example.com/repo.git",
        "ssh://git:secret@git.example.com/repo.git",
        "https:///no-host.git",
    ],
)
def test_unsupported_urls_and_embedded_credentials_are_refused(url: str):
    with pytest.raises(InvalidArgument):
        remotes.parse(url)


def test_a_token_is_only_sent_over_https(tmp_path: Path):
    for url in ("http://gitea.local/repo.git", "ssh://git@host/repo.git", str(tmp_path)):
        with pytest.raises(InvalidArgument):
            remotes.parse(url, token="secret")


def test_a_missing_local_path_is_unreachable(tmp_path: Path):
    with pytest.raises(Unreachable):
        remotes.parse(str(tmp_path / "nope.git"))


def test_a_token_is_offered_once_as_x_access_token_and_then_reported_refused():
    spec = remotes.parse("https://git.example.com/org/repo.git", token="s3cret")
    callbacks = remotes.Callbacks(spec, token="s3cret")

    offered = callbacks.credentials(spec.url, None, CredentialType.USERPASS_PLAINTEXT)

    assert isinstance(offered, pygit2.UserPass)
    assert offered.credential_tuple == ("x-access-token", "s3cret")
    assert "s3cret" not in repr(callbacks)
    with pytest.raises(AuthFailed, match="refused the token"):
        callbacks.credentials(spec.url, None, CredentialType.USERPASS_PLAINTEXT)


def test_https_without_a_token_fails_authentication_instead_of_prompting():
    spec = remotes.parse("https://git.example.com/org/repo.git")

    with pytest.raises(AuthFailed, match="no token"):
        remotes.Callbacks(spec).credentials(spec.url, None, CredentialType.USERPASS_PLAINTEXT)


def test_ssh_offers_the_agent_first_and_gives_up_when_keys_run_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh keys: only the agent is tried
    spec = remotes.parse("ssh://deploy@git.example.com/org/repo.git")
    callbacks = remotes.Callbacks(spec)

    assert isinstance(
        callbacks.credentials(spec.url, None, CredentialType.USERNAME), pygit2.Username
    )
    either = CredentialType.SSH_KEY | CredentialType.USERPASS_PLAINTEXT
    key = callbacks.credentials(spec.url, "deploy", either)
    assert isinstance(key, pygit2.KeypairFromAgent)
    assert key.credential_tuple[0] == "deploy"
    with pytest.raises(AuthFailed):
        callbacks.credentials(spec.url, "deploy", CredentialType.SSH_KEY)


def test_ssh_falls_back_to_key_files_in_the_home_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh/id_ed25519").write_text("private")
    (tmp_path / ".ssh/id_ed25519.pub").write_text("public")
    spec = remotes.parse("git@git.example.com:org/repo.git")
    callbacks = remotes.Callbacks(spec)

    callbacks.credentials(spec.url, "git", CredentialType.SSH_KEY)
    key = callbacks.credentials(spec.url, "git", CredentialType.SSH_KEY)

    assert key.credential_tuple[2] == str(tmp_path / ".ssh/id_ed25519")


def test_certificates_are_accepted_only_when_libgit2_found_them_valid():
    callbacks = remotes.Callbacks(remotes.parse("https://git.example.com/repo.git"))

    assert callbacks.certificate_check(None, True, b"git.example.com") is True
    assert callbacks.certificate_check(None, False, b"git.example.com") is False


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (pygit2.AuthError("too many redirects or authentication replays"), AuthFailed),
        (pygit2.GitError("unexpected http status code: 403"), AuthFailed),
        (pygit2.GitError("failed to connect to 10.0.0.1: Connection refused"), Unreachable),
        (pygit2.GitError("unexpected http status code: 404"), Unreachable),
        (pygit2.GitError("object 4013ab not found"), Unreachable),
        (pygit2.GitError("cannot push non-fastforwardable reference"), Conflict),
        (RuntimeError("something else"), GitError),
    ],
)
def test_libgit2_failures_are_translated_by_kind(error: Exception, expected: type[GitError]):
    translated = remotes.network_error(error, url="https://h/r.git", operation="fetch")

    assert type(translated) is expected
    assert translated.details["reason"] == str(error)


def test_ensure_timeouts_sets_bounds_without_overriding_existing_ones():
    before = (pygit2.settings.server_connect_timeout, pygit2.settings.server_timeout)
    try:
        pygit2.settings.server_connect_timeout = 0
        pygit2.settings.server_timeout = 5_000
        remotes.ensure_timeouts()
        assert pygit2.settings.server_connect_timeout == remotes.CONNECT_TIMEOUT_MS
        assert pygit2.settings.server_timeout == 5_000
    finally:
        pygit2.settings.server_connect_timeout, pygit2.settings.server_timeout = before
