"""Receiving GitHub webhooks: prove the sender, then read the payload.

A webhook endpoint is public, so nothing in a delivery is trusted until its
``X-Hub-Signature-256`` matches an HMAC-SHA256 of the *raw* body under the shared
secret. Verification therefore takes bytes, not parsed JSON (re-serialising
changes the bytes), and compares in constant time so the digest cannot be guessed
byte by byte from response timings. Only then does :func:`parse_event` look inside.

GitHub wants a 2xx within 10 seconds, so everything here is pure and fast: verify,
parse, enqueue, answer. ``X-GitHub-Delivery`` is the deduplication key, because a
redelivery reuses it.

Errors are reported with a short reason (the first missing field, the JSON error's
position) and never the payload or a traceback: the reason goes back to whoever
sent the request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

import pydantic

from pilothouse.integrations.github import errors, events

__all__ = [
    "EVENT_HEADER",
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "sign",
    "verify_signature",
    "parse_event",
    "push_changed_paths",
    "branch_of",
]

EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
"""A GUID per delivery, reused by redeliveries: the deduplication key."""
SIGNATURE_HEADER = "X-Hub-Signature-256"

_PREFIX = "sha256="
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_MAX_REPORTED_ERRORS = 5

_MODELS: dict[str, type[events.PingEvent | events.PushEvent | events.PullRequestEvent]] = {
    events.PingEvent.name: events.PingEvent,
    events.PushEvent.name: events.PushEvent,
    events.PullRequestEvent.name: events.PullRequestEvent,
}


def _digest(secret: str, body: bytes) -> str:
    if not secret:
        # An empty key makes every signature forgeable; this is a configuration bug.
        raise ValueError("a webhook secret is required")
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub would send for ``body``."""
    return _PREFIX + _digest(secret, body)


def verify_signature(secret: str, body: bytes, header: str | None) -> None:
    """Accept ``body`` only if ``header`` is its signature under ``secret``.

    Raises :class:`~.errors.InvalidSignature` when the header is missing, not of the
    form ``sha256=<64 hex>``, or does not match.
    """
    expected = _digest(secret, body)
    if not header:
        raise errors.InvalidSignature(f"missing {SIGNATURE_HEADER} header")
    value = header.strip()
    if not value.startswith(_PREFIX) or not _HEX_DIGEST.fullmatch(value[len(_PREFIX) :]):
        raise errors.InvalidSignature(f"malformed {SIGNATURE_HEADER} header, want sha256=<hex>")
    given = value[len(_PREFIX) :].lower()
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise errors.InvalidSignature("signature does not match the body")


def _reason(error: pydantic.ValidationError) -> tuple[str, list[dict[str, str]]]:
    found: list[dict[str, str]] = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "(body)"
        what = "missing field" if item["type"] == "missing" else item["msg"]
        found.append({"field": where, "problem": what})
    first = found[0] if found else {"field": "(body)", "problem": "invalid"}
    return f"{first['problem']}: {first['field']}", found[:_MAX_REPORTED_ERRORS]


def parse_event(event_name: str, body: bytes) -> events.Event:
    """The typed payload of one delivery, named by its ``X-GitHub-Event`` header.

    Events other than ``ping``, ``push`` and ``pull_request`` come back as
    :class:`~.events.UnsupportedEvent` without their body being read, so new event
    types GitHub sends are acknowledged rather than refused.

    Raises :class:`~.errors.InvalidPayload` when the body is not a JSON object or a
    field we read is missing or of the wrong type.
    """
    model = _MODELS.get(event_name)
    if model is None:
        return events.UnsupportedEvent(event=event_name)
    try:
        data: Any = json.loads(body)
    except RecursionError:
        raise errors.InvalidPayload(
            f"{event_name} payload is nested too deeply", details={"event": event_name}
        ) from None
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
        where = ""
        if isinstance(e, json.JSONDecodeError):
            where = f" at line {e.lineno} column {e.colno}"
        raise errors.InvalidPayload(
            f"{event_name} payload is not valid JSON{where}", details={"event": event_name}
        ) from e
    if not isinstance(data, dict):
        raise errors.InvalidPayload(
            f"{event_name} payload must be a JSON object", details={"event": event_name}
        )
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as e:
        reason, found = _reason(e)
        raise errors.InvalidPayload(
            f"{event_name} payload: {reason}", details={"event": event_name, "errors": found}
        ) from e


def push_changed_paths(push: events.PushEvent) -> list[str]:
    """Every path a push added, modified or removed, sorted and without repeats.

    Built from ``commits[]``, which GitHub caps at 2048 commits and which is empty
    for a new branch at an existing commit or a deletion; when completeness
    matters, diff ``before``..``after`` in a local clone instead.
    """
    paths: set[str] = set()
    for commit in push.commits:
        paths.update(commit.added, commit.modified, commit.removed)
    return sorted(paths)


def branch_of(ref: str) -> str | None:
    """``refs/heads/main`` → ``main``; tags and any other ref → ``None``."""
    prefix = "refs/heads/"
    if ref.startswith(prefix) and len(ref) > len(prefix):
        return ref[len(prefix) :]
    return None
