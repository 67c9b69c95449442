"""Identifiers and secrets.

Ids are prefixed (``ws_``, ``pr_``, ``lk_``…) so a stray id in a log says what it
names, and start with a millisecond timestamp so they sort roughly by creation.
Secrets (API keys, lock tokens, claim tokens) come from :mod:`secrets` and are
stored only as SHA-256 digests: they are 256-bit random values, so a slow hash
would add nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import time


def new_id(prefix: str) -> str:
    """A new unique id such as ``ws_0193a1b2c3d4_9f8e7d6c5b4a3921``."""
    millis = int(time.time() * 1000)
    return f"{prefix}_{millis:012x}{secrets.token_hex(8)}"


def new_secret(prefix: str) -> str:
    """A new bearer secret such as ``phk_…`` (43 url-safe characters of entropy)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digest(secret: str) -> str:
    """The stored form of a secret: hex SHA-256."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same_secret(secret: str, stored_digest: str) -> bool:
    """Constant-time comparison of a presented secret with a stored digest."""
    return secrets.compare_digest(digest(secret), stored_digest)
