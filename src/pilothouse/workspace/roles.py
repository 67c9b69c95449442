"""Who may do what: roles per workspace and scopes per API key.

Two independent checks guard every operation. The principal's *role* in the
workspace says what the principal may do at all; the *scope* of the key it
presented says how much of that it delegated to this key. Both must allow the
operation. Scopes are ordered (``admin`` ⊃ ``write`` ⊃ ``read``), so a key's scope
is its highest grant; local CLI use carries every scope.

A site administrator (the user ``pilothouse init`` creates) acts as owner of every
workspace, so an installation can never lock itself out.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Role(IntEnum):
    """Per-workspace roles, ordered by power."""

    VIEWER = 1
    MEMBER = 2
    ADMIN = 3
    OWNER = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {text!r}; use viewer, member, admin or owner") from None


class Scope(IntEnum):
    """API-key scopes, ordered: each includes the ones below it."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Scope:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown scope {text!r}; use read, write or admin") from None


class Interface(StrEnum):
    """Where a request entered; recorded in every audit entry."""

    CLI = "cli"
    REST = "rest"
    MCP = "mcp"
    UI = "ui"
    PIPELINE = "pipeline"
    SYSTEM = "system"


class Kind(StrEnum):
    USER = "user"
    AGENT = "agent"
    SYSTEM = "system"  # the installation itself: lease expiry, sweeps


class Permission(StrEnum):
    """Each operation asks for one permission; the table below prices it."""

    READ = "read"
    WRITE = "write"
    LOCK = "lock"
    MANAGE = "manage"  # members, keys, settings, force-break locks
    OWN = "own"  # ownership transfer, archive


REQUIREMENTS: dict[Permission, tuple[Role, Scope]] = {
    Permission.READ: (Role.VIEWER, Scope.READ),
    Permission.WRITE: (Role.MEMBER, Scope.WRITE),
    Permission.LOCK: (Role.MEMBER, Scope.WRITE),
    Permission.MANAGE: (Role.ADMIN, Scope.ADMIN),
    Permission.OWN: (Role.OWNER, Scope.ADMIN),
}
