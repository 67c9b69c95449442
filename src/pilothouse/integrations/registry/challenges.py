"""Reading what a registry's ``401`` asks for, and what its token server answers.

A registry does not say up front how it authenticates; it answers ``401`` with a
``WWW-Authenticate`` header (RFC 7235) and the client follows it:

- ``Basic realm="…"``: send ``Authorization: Basic`` with a username and password.
- ``Bearer realm="https://auth…/token",service="…",scope="repository:x:pull"``:
  Docker's token flow. ``GET`` the realm with ``service`` and ``scope`` (and the
  credentials as Basic auth, if any), read ``token`` (or the OAuth2 name
  ``access_token``) and ``expires_in`` (60 s when absent) from the JSON answer,
  then repeat the request with ``Authorization: Bearer <token>``.

The header grammar allows several challenges in one header and commas inside
quoted values (``scope="repository:a:pull,push"``), so it is tokenised here rather
than split on commas. Parsing never raises: a header that makes no sense yields
no challenge, and the client reports the ``401`` as it is.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_TOKEN_SECONDS",
    "Challenge",
    "Token",
    "parse_challenges",
    "preferred_challenge",
    "basic_authorization",
    "token_from_json",
]

DEFAULT_TOKEN_SECONDS = 60.0
"""A token answer without ``expires_in`` is valid this long (the token spec's default)."""

_TOKEN_CHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_SCHEME_RE = re.compile(rf"[\s,]*({_TOKEN_CHARS})(?=\s|,|$)")
_PARAM_RE = re.compile(rf'[\s,]*({_TOKEN_CHARS})\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,"]*)')
_ESCAPE_RE = re.compile(r"\\(.)")
_SUPPORTED = ("bearer", "basic")


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: a lower-case scheme and its parameters."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")


@dataclass(frozen=True)
class Token:
    """A bearer token and how long it may be used, in seconds from when it arrived."""

    value: str = field(repr=False)
    expires_in: float


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return _ESCAPE_RE.sub(r"\1", value[1:-1])
    return value


def parse_challenges(headers: Iterable[str]) -> list[Challenge]:
    """Every challenge in the given ``WWW-Authenticate`` header values, in order."""
    challenges: list[Challenge] = []
    for header in headers:
        scheme: str | None = None
        params: dict[str, str] = {}
        position = 0
        while position < len(header):
            param = _PARAM_RE.match(header, position) if scheme is not None else None
            if param is not None and param.end() > position:
                params.setdefault(param.group(1).lower(), _unquote(param.group(2)))
                position = param.end()
                continue
            start = _SCHEME_RE.match(header, position)
            if start is None:
                break  # not the grammar; keep what was understood so far
            if scheme is not None:
                challenges.append(Challenge(scheme, params))
            scheme, params, position = start.group(1).lower(), {}, start.end()
        if scheme is not None:
            challenges.append(Challenge(scheme, params))
    return challenges


def preferred_challenge(challenges: Iterable[Challenge]) -> Challenge | None:
    """The challenge to answer: Bearer over Basic (as Docker does), else the first."""
    listed = list(challenges)
    for scheme in _SUPPORTED:
        for challenge in listed:
            if challenge.scheme == scheme:
                return challenge
    return listed[0] if listed else None


def basic_authorization(username: str, password: str) -> str:
    """The ``Authorization`` header value for HTTP Basic auth."""
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def token_from_json(data: Any) -> Token | None:
    """The token in a token server's JSON answer, or ``None`` if it carries none."""
    if not isinstance(data, dict):
        return None
    value = data.get("token") or data.get("access_token")
    if not isinstance(value, str) or not value:
        return None
    expires_in = data.get("expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        expires_in = DEFAULT_TOKEN_SECONDS
    return Token(value=value, expires_in=max(float(expires_in), 0.0))
