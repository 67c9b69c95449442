"""Request bodies of the REST API: pydantic at the wire, strict and bounded.

``extra="forbid"`` turns a misspelt field into a 422 instead of a silent no-op —
the same reason the validator refuses unknown manifest fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Text = Field(max_length=4096)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceCreate(Body):
    name: str = Field(min_length=1, max_length=63)
    description: str = Field("", max_length=4096)
    quota_bytes: int | None = Field(None, ge=0)
    intelligence: bool = True


class WorkspaceUpdate(Body):
    name: str | None = Field(None, min_length=1, max_length=63)
    description: str | None = Field(None, max_length=4096)
    quota_bytes: int | None = Field(None, ge=0)
    intelligence: bool | None = None


class Move(Body):
    source: str = Field(min_length=1, max_length=4096)
    target: str = Field(min_length=1, max_length=4096)
    if_version: int | None = Field(None, ge=0)
    lock_token: str | None = Field(None, max_length=256)


class Copy(Body):
    source: str = Field(min_length=1, max_length=4096)
    target: str = Field(min_length=1, max_length=4096)
    version: int | None = Field(None, ge=1)
    lock_token: str | None = Field(None, max_length=256)


class Restore(Body):
    path: str = Field(min_length=1, max_length=4096)
    trash_id: str | None = Field(None, max_length=64)
    lock_token: str | None = Field(None, max_length=256)


class Purge(Body):
    path: str = Field(min_length=1, max_length=4096)
    trash_id: str | None = Field(None, max_length=64)


class RestoreVersion(Body):
    path: str = Field(min_length=1, max_length=4096)
    version: int = Field(ge=1)
    if_version: int | None = Field(None, ge=0)
    lock_token: str | None = Field(None, max_length=256)


class MetadataUpdate(Body):
    set: dict[str, str] = Field(default_factory=dict, max_length=100)
    remove: list[str] = Field(default_factory=list, max_length=100)
    lock_token: str | None = Field(None, max_length=256)


class LockAcquire(Body):
    path: str = Field(min_length=1, max_length=4096)
    scope: Literal["file", "tree"] = "file"
    ttl_seconds: int | None = Field(None, ge=1, le=3600)
    enforce: bool = False
    wait_seconds: float = Field(0, ge=0, le=60)


class LockToken(Body):
    token: str = Field(min_length=1, max_length=256)


class LockHeartbeat(LockToken):
    ttl_seconds: int | None = Field(None, ge=1, le=3600)


class LockBreak(Body):
    reason: str = Field("", max_length=1024)


class MemberAdd(Body):
    principal: str = Field(min_length=1, max_length=128)
    role: Literal["viewer", "member", "admin"] = "member"


class MemberRole(Body):
    role: Literal["viewer", "member", "admin"]


class AgentCreate(Body):
    name: str = Field(min_length=1, max_length=128)
    role: Literal["viewer", "member", "admin"] = "member"


class ApiKeyCreate(Body):
    principal: str = Field(min_length=1, max_length=128)
    name: str = Field("default", min_length=1, max_length=128)
    scope: Literal["read", "write", "admin"] = "write"
    expires_at: datetime | None = None


class Claim(Body):
    token: str = Field(min_length=1, max_length=256)


class WebhookCreate(Body):
    url: str = Field(min_length=1, max_length=4096)
    event_types: list[str] = Field(default_factory=list, max_length=64)
    path_glob: str | None = Field(None, max_length=1024)
    active: bool = True


class WebhookUpdate(Body):
    active: bool


class DownloadCreate(Body):
    path: str = Field(min_length=1, max_length=4096)
    version: int | None = Field(None, ge=1)
    ttl_seconds: int | None = Field(None, ge=1, le=7 * 24 * 3600)


class ImportCreate(Body):
    url: str = Field(min_length=1, max_length=4096)
    path: str = Field(min_length=1, max_length=4096)
    bearer_token: str | None = Field(None, max_length=8192)


class SearchQuery(Body):
    query: str = Field(min_length=1, max_length=4000)
    mode: Literal["hybrid", "semantic", "lexical"] = "hybrid"
    limit: int = Field(10, ge=1, le=100)
    path_prefix: str | None = Field(None, max_length=4096)
    kinds: list[Literal["yaml", "json", "markdown", "log", "code", "text"]] = Field(
        default_factory=list, max_length=6
    )
    since: datetime | None = None
    until: datetime | None = None
    metadata: dict[str, str] = Field(default_factory=dict, max_length=20)
    include_history: bool = False


class SearchSimilar(Body):
    path: str | None = Field(None, max_length=4096)
    version: int | None = Field(None, ge=1)
    text: str | None = Field(None, max_length=200_000)
    limit: int = Field(10, ge=1, le=100)
    path_prefix: str | None = Field(None, max_length=4096)
    kinds: list[Literal["yaml", "json", "markdown", "log", "code", "text"]] = Field(
        default_factory=list, max_length=6
    )
    include_history: bool = False


class PrincipalCreate(Body):
    name: str = Field(min_length=1, max_length=128)
    kind: Literal["user", "agent"] = "user"
    site_admin: bool = False


class PersonalKeyCreate(Body):
    name: str = Field("personal", min_length=1, max_length=128)
    scope: Literal["read", "write", "admin"] = "write"
    expires_at: datetime | None = None
