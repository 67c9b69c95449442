"""Signed, expiring download links.

A manifest can reference an artifact (model weights, a dataset) by URL without
carrying an API key: the link itself is the credential. It names one workspace,
path and version and an expiry, and is signed with the installation's secret
(HMAC-SHA256, created on first use and kept in the database, so every replica
agrees). Anything changed in the link breaks the signature; an expired link is
refused; a purged version is gone.

Token: ``base64url(json{w, p, v, e}) "." hex(hmac)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from pilothouse.workspace.errors import Forbidden, InvalidArgument
from pilothouse.workspace.schema import installation

SIGNING_KEY = "download_signing_key"


@dataclass(frozen=True)
class Grant:
    workspace_id: str
    path: str
    version: int
    expires_at: datetime


def signing_key(conn: Connection) -> bytes:
    """The installation's signing key, created on first use."""
    value = conn.execute(
        select(installation.c.value).where(installation.c.key == SIGNING_KEY)
    ).scalar_one_or_none()
    if value is None:
        value = secrets.token_hex(32)
        conn.execute(insert(installation).values(key=SIGNING_KEY, value=value))
    return bytes.fromhex(value)


def _mac(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def sign(key: bytes, grant: Grant) -> str:
    body = json.dumps(
        {
            "w": grant.workspace_id,
            "p": grant.path,
            "v": grant.version,
            "e": int(grant.expires_at.timestamp()),
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=") + "." + _mac(key, body)


def verify(key: bytes, token: str, now: datetime) -> Grant:
    """The grant a token carries; raises ``forbidden`` if forged or expired."""
    encoded, _, mac = token.partition(".")
    try:
        body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (ValueError, binascii.Error):
        raise InvalidArgument("malformed download link") from None
    if not mac or not hmac.compare_digest(_mac(key, body), mac):
        raise Forbidden("this download link is not valid")
    try:
        data = json.loads(body)
        grant = Grant(
            str(data["w"]),
            str(data["p"]),
            int(data["v"]),
            datetime.fromtimestamp(int(data["e"]), UTC),
        )
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument("malformed download link") from None
    if grant.expires_at <= now:
        raise Forbidden("this download link has expired", details={"expired_at": data["e"]})
    return grant
