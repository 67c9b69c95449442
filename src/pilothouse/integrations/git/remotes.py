"""Where a mirror fetches from, how it authenticates, and what failures mean.

Four kinds of remote are accepted: a local path and ``file://`` URL (tests, a
repository on a shared volume), ``https://`` with an optional token, ``http://``
without one, and ``ssh://`` or scp-like ``git@host:org/repo.git``. Anything
else (``git://``, ``ext::``, credentials inside the URL) is refused up front,
because libgit2 would either not support it or store a secret in the mirror's
``config`` in plain text.

Credentials never touch disk. A token lives on the :class:`Callbacks` object of
one network call and is offered as ``x-access-token:<token>`` (the form GitHub,
Gitea and GitLab all accept) exactly once: if the server asks again, the token
was refused and we say so instead of letting libgit2 replay it forever. SSH tries
the agent, then the usual key files in ``~/.ssh``. Host keys and TLS
certificates are accepted only when libgit2 found them valid (``known_hosts`` for
SSH), so an unknown SSH host fails closed rather than being trusted silently.

libgit2 has no per-call timeout; its connect and I/O timeouts are process-wide.
:func:`ensure_timeouts` sets them once, only if nobody else did, so a dead HTTP
or SSH server cannot hang a pipeline forever.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import pygit2
from pygit2.enums import CredentialType

from pilothouse.integrations.git import errors

__all__ = [
    "CONNECT_TIMEOUT_MS",
    "IO_TIMEOUT_MS",
    "Callbacks",
    "RemoteKind",
    "RemoteSpec",
    "ensure_timeouts",
    "network_error",
    "parse",
]

CONNECT_TIMEOUT_MS = 15_000
"""Longest wait for a TCP connection to an HTTP(S) or SSH remote (default 15 s)."""

IO_TIMEOUT_MS = 120_000
"""Longest wait for any single read or write on an open connection (default 120 s)."""

RemoteKind = Literal["local", "file", "https", "http", "ssh"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_TRANSPORT_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")  # git's "ext::", "fd::"
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!//)")
_KEY_FILES = ("id_ed25519", "id_ecdsa", "id_rsa")
_MAX_CREDENTIAL_CALLS = 6
_AUTH_HINTS = re.compile(r"authenticat|credential|permission denied|\b40[13]\b", re.IGNORECASE)
_CONFLICT_HINTS = re.compile(r"non-fast-?forward|not present locally|rejected", re.IGNORECASE)

_Credential = pygit2.Username | pygit2.UserPass | pygit2.Keypair


@dataclass(frozen=True)
class RemoteSpec:
    """A validated remote: the URL handed to libgit2 and what kind it is."""

    url: str
    kind: RemoteKind


def kind_of(url: str) -> RemoteKind:
    """What kind of remote ``url`` names, by its spelling alone (no file system, no checks)."""
    url = url.strip()
    match = _SCHEME.match(url)
    if match:
        scheme = match.group(1).lower()
        kinds: dict[str, RemoteKind] = {"file": "file", "https": "https", "http": "http"}
        return kinds.get(scheme, "ssh")
    return "ssh" if _SCP_LIKE.match(url) else "local"


def parse(url: str, *, token: str | None = None) -> RemoteSpec:
    """Classify and check a remote URL; a local path becomes absolute.

    Raises :class:`~.errors.InvalidArgument` for unsupported schemes, credentials
    embedded in the URL and a token on anything but ``https``, and
    :class:`~.errors.Unreachable` for a local path that does not exist.
    """
    if not isinstance(url, str) or not url.strip() or "\0" in url:
        raise errors.InvalidArgument("the remote URL must be a non-empty string")
    url = url.strip()
    if _TRANSPORT_PREFIX.match(url):
        raise errors.InvalidArgument("transport prefixes such as ext:: are not allowed")
    match = _SCHEME.match(url)
    if match:
        spec = _parse_url(url, match.group(1).lower())
    elif _SCP_LIKE.match(url):
        spec = RemoteSpec(url, "ssh")
    else:
        path = Path(url).expanduser().absolute()
        if not path.exists():
            raise errors.Unreachable(
                f"no repository at {path}", details={"url": str(path), "kind": "local"}
            )
        spec = RemoteSpec(str(path), "local")
    if token and spec.kind != "https":
        raise errors.InvalidArgument(
            f"a token is only sent over https, not to a {spec.kind} remote",
            details={"url": spec.url},
        )
    return spec


def _parse_url(url: str, scheme: str) -> RemoteSpec:
    if scheme == "file":
        return RemoteSpec(url, "file")
    if scheme in ("https", "http", "ssh"):
        parts = urlsplit(url)
        if not parts.hostname:
            raise errors.InvalidArgument("the remote URL has no host", details={"url": url})
        if scheme != "ssh" and (parts.username or parts.password):
            raise errors.InvalidArgument(
                "credentials inside the URL are not allowed; pass a token instead"
            )
        if parts.password:
            raise errors.InvalidArgument("passwords inside ssh URLs are not allowed")
        kind: RemoteKind = "https" if scheme == "https" else "http" if scheme == "http" else "ssh"
        return RemoteSpec(url, kind)
    raise errors.InvalidArgument(
        f"unsupported remote scheme {scheme!r}; use a path, file://, https://, http:// or ssh://",
        details={"url": url},
    )


def ensure_timeouts() -> None:
    """Set libgit2's process-wide network timeouts unless already set."""
    if pygit2.settings.server_connect_timeout == 0:
        pygit2.settings.server_connect_timeout = CONNECT_TIMEOUT_MS
    if pygit2.settings.server_timeout == 0:
        pygit2.settings.server_timeout = IO_TIMEOUT_MS


class Callbacks(pygit2.RemoteCallbacks):
    """The callbacks of one fetch or push: credentials, certificates, rejections.

    ``on_negotiation`` runs between negotiation and upload of a push with the
    updates the remote is about to receive; raising there aborts the push.
    Refs the remote refused are collected in :attr:`rejected`.
    """

    def __init__(
        self,
        spec: RemoteSpec,
        *,
        token: str | None = None,
        on_negotiation: Callable[[list[pygit2.remotes.PushUpdate]], None] | None = None,
    ) -> None:
        super().__init__()
        self._spec = spec
        self._token = token or None
        self._on_negotiation = on_negotiation
        self._calls = 0
        self._token_offered = False
        self._keys: Iterator[pygit2.Keypair] | None = None
        self.rejected: dict[str, str] = {}

    def __repr__(self) -> str:  # never show the token
        return f"Callbacks({self._spec.url!r})"

    def credentials(
        self, url: str, username_from_url: str | None, allowed_types: CredentialType
    ) -> _Credential:
        self._calls += 1
        if self._calls > _MAX_CREDENTIAL_CALLS:
            raise errors.AuthFailed(f"{url} kept asking for credentials", details={"url": url})
        user = username_from_url or "git"
        if self._spec.kind == "ssh":
            return self._ssh_credentials(url, user, allowed_types)
        if not allowed_types & CredentialType.USERPASS_PLAINTEXT:
            raise errors.AuthFailed(
                f"{url} asks for a kind of credentials we cannot offer", details={"url": url}
            )
        if self._token is None:
            raise errors.AuthFailed(
                f"{url} requires authentication and no token is configured", details={"url": url}
            )
        if self._token_offered:
            raise errors.AuthFailed(f"{url} refused the token", details={"url": url})
        self._token_offered = True
        return pygit2.UserPass("x-access-token", self._token)

    def _ssh_credentials(self, url: str, user: str, allowed_types: CredentialType) -> _Credential:
        # SSH servers often allow passwords too; keys come first and are all we offer
        if allowed_types & CredentialType.SSH_KEY:
            if self._keys is None:
                self._keys = _ssh_keys(user)
            key = next(self._keys, None)
            if key is None:
                raise errors.AuthFailed(
                    f"{url} refused every SSH key (agent and ~/.ssh)", details={"url": url}
                )
            return key
        if allowed_types & CredentialType.USERNAME:
            return pygit2.Username(user)
        raise errors.AuthFailed(f"{url} does not accept SSH keys", details={"url": url})

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:
        # libgit2 checked the TLS chain or ~/.ssh/known_hosts; refuse what it could not vouch for
        return valid

    def push_negotiation(self, updates: list[pygit2.remotes.PushUpdate]) -> None:
        if self._on_negotiation is not None:
            self._on_negotiation(updates)

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message:
            self.rejected[refname] = message


def _ssh_keys(user: str) -> Iterator[pygit2.Keypair]:
    yield pygit2.KeypairFromAgent(user)
    ssh_dir = Path.home() / ".ssh"
    for name in _KEY_FILES:
        private, public = ssh_dir / name, ssh_dir / f"{name}.pub"
        if private.is_file() and public.is_file():
            yield pygit2.Keypair(user, str(public), str(private), "")


def network_error(error: Exception, *, url: str, operation: str) -> errors.GitError:
    """The :class:`~.errors.GitError` a failed fetch, clone or push stands for.

    Our own errors raised inside callbacks come back unchanged. libgit2 exposes
    few error classes, so the rest is classified by message: authentication
    words mean :class:`~.errors.AuthFailed`, rejection words
    :class:`~.errors.Conflict`, and anything else on the wire (refused, DNS,
    TLS, 404, a missing local path) :class:`~.errors.Unreachable`.
    """
    if isinstance(error, errors.GitError):
        return error
    message = str(error)
    details = {"url": url, "operation": operation, "reason": message}
    if isinstance(error, pygit2.AuthError) or _AUTH_HINTS.search(message):
        return errors.AuthFailed(f"{operation} {url}: authentication failed", details=details)
    if _CONFLICT_HINTS.search(message):
        return errors.Conflict(f"{operation} {url}: {message}", details=details)
    if isinstance(error, pygit2.GitError | OSError):
        return errors.Unreachable(f"{operation} {url}: {message}", details=details)
    return errors.GitError(f"{operation} {url}: {message}", details=details)
