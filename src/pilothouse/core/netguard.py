"""Outbound URLs we fetch or call on a user's behalf, and where they may point.

Webhooks and URL imports make the server open connections to addresses a caller
chose. Without a guard that is server-side request forgery: a webhook aimed at
``http://169.254.169.254/`` reads cloud credentials, one aimed at ``127.0.0.1``
reaches admin ports. :func:`check` resolves the host and refuses loopback,
private, link-local, multicast, reserved and unspecified addresses unless the
operator allowed them (tests do, to use a receiver on loopback). Redirects are
followed by callers one hop at a time so every hop passes the same check.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from pilothouse.core.errors import PilothouseError


class UnsafeTarget(PilothouseError):
    code = "invalid_argument"


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    addresses: tuple[str, ...]


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def parse(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an http(s) URL; raises :class:`UnsafeTarget`."""
    if not isinstance(url, str) or len(url) > 4096:
        raise UnsafeTarget("the URL must be a string of at most 4096 characters")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget(f"only http and https URLs are allowed, not {parts.scheme!r}")
    if not parts.hostname:
        raise UnsafeTarget("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeTarget("credentials in URLs are not allowed; use a token")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeTarget("the URL has an invalid port") from None
    return parts.scheme, parts.hostname, port


def check(url: str, *, allow_private: bool) -> Target:
    """Resolve the URL's host and refuse internal addresses unless allowed."""
    _scheme, host, port = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise UnsafeTarget(f"cannot resolve {host}: {e}", details={"host": host}) from e
    addresses = tuple(sorted({str(info[4][0]) for info in infos}))
    if not allow_private:
        blocked = [a for a in addresses if _blocked(a)]
        if blocked:
            raise UnsafeTarget(
                f"{host} resolves to a loopback, private or link-local address ({blocked[0]}); "
                "the server setting allow_private_webhook_targets permits that",
                details={"host": host, "address": blocked[0]},
            )
    return Target(url, host, addresses)
