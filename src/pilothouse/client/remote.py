"""``Client``: the :class:`~pilothouse.workspace.protocol.Workspace` over the REST API.

An agent written against ``Workspace`` runs in-process with
:class:`~pilothouse.workspace.protocol.LocalWorkspace` or against a server with
this class, unchanged: same method names and keywords, same dataclasses back, the
same :mod:`pilothouse.workspace.errors` classes raised (see
:mod:`pilothouse.client.errors`). The contract suite in ``tests/client`` runs
every behaviour against both.

It is a synchronous ``httpx.Client`` because the façade it stands in for is
synchronous and agents run in plain threads; one instance pools keep-alive
connections and may be shared between threads. The API key is sent as
``Authorization: Bearer``, lock tokens in a header where the route accepts one.
Waiting calls (``wait_events``, ``acquire_lock(wait_seconds=…)``) extend the read
timeout by the wait, so a long poll is never mistaken for a dead server.

Every call is one request except reading a file's description: the download
headers carry only the version's number, size and sha256, so ``read_file``,
``open_file`` and ``file_version`` take the rest (author, agent, note, time) from
the file's version list.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Self, TypeVar
from urllib.parse import quote

import httpx

from pilothouse import __version__
from pilothouse.client import decoding, errors, streams
from pilothouse.core.clock import isoformat
from pilothouse.workspace import models
from pilothouse.workspace.errors import InvalidArgument, NotFound
from pilothouse.workspace.models import (
    ApiKeyInfo,
    AuditEntry,
    AuditVerdict,
    CreatedApiKey,
    Event,
    FileContent,
    FileInfo,
    FileVersion,
    LockGrant,
    LockInfo,
    Member,
    Page,
    Transfer,
)
from pilothouse.workspace.protocol import Content, Workspace

__all__ = ["API", "MAX_WAIT_SECONDS", "Client"]

API = "/api/v1"
"""Prefix of every REST route."""

MAX_WAIT_SECONDS = 60.0
"""Longest long-poll the server holds; ``wait_events`` clamps to it as the façade does."""

T = TypeVar("T")
Query = Mapping[str, str | int | float | bool | datetime | Sequence[str] | None]
"""Query parameters; ``None`` values are left out, datetimes sent as ISO-8601."""


def _segment(text: str) -> str:
    quoted = quote(text, safe="")
    # httpx resolves "." and ".." segments away as browsers do; percent-encoded they
    # reach the server verbatim, which refuses ".." exactly as the façade does.
    return {".": "%2E", "..": "%2E%2E"}.get(quoted, quoted)


def _path(path: str) -> str:
    """A workspace path as URL segments; the routes put the leading ``/`` back."""
    return "/".join(_segment(part) for part in path.lstrip("/").split("/"))


def _timestamp(moment: datetime) -> str:
    return isoformat(moment) if moment.tzinfo is not None else moment.isoformat()


def _query(params: Query | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in (params or {}).items():
        if value is None:
            continue  # httpx would send an empty string
        if isinstance(value, datetime):
            result[name] = _timestamp(value)
        elif isinstance(value, (str, int, float, bool)):
            result[name] = value
        else:
            result[name] = list(value)
    return result


class Client(Workspace):
    """The workspace of a Pilothouse server, as the identity of ``api_key``.

    ``timeout`` bounds each request (seconds, per connect/read/write phase);
    ``transport`` replaces the network, e.g. with ``httpx.MockTransport`` in tests.
    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {api_key}",
                "User-Agent": f"pilothouse-client/{__version__}",
            },
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"Client({self.base_url!r})"  # never the key

    def close(self) -> None:
        """Close pooled connections; the client cannot be used afterwards."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------

    def _ws(self, workspace: str, *rest: str) -> str:
        return "/".join((f"{API}/workspaces/{_segment(workspace)}", *rest))

    def _timeouts(self, wait: float) -> httpx.Timeout:
        if wait <= 0:
            return httpx.Timeout(self.timeout)
        return httpx.Timeout(self.timeout, read=self.timeout + wait)

    def _call(
        self,
        method: str,
        url: str,
        *,
        params: Query | None = None,
        json: Any = None,
        content: bytes | Iterator[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        wait: float = 0,
    ) -> httpx.Response:
        """Send one request and return its successful response, or raise."""
        try:
            response = self._http.request(
                method,
                url,
                params=_query(params),
                json=json,
                content=content,
                headers=headers,
                timeout=self._timeouts(wait),
            )
        except httpx.HTTPError as e:
            raise errors.from_transport(e, self.base_url) from e
        if not response.is_success:
            raise errors.from_response(response)
        return response

    def _open(self, url: str, *, params: Query) -> httpx.Response:
        """Like :meth:`_call` for a GET whose body the caller streams and closes."""
        request = self._http.build_request(
            "GET", url, params=_query(params), timeout=self._timeouts(0)
        )
        try:
            response = self._http.send(request, stream=True)
            if not response.is_success:
                try:
                    response.read()
                finally:
                    response.close()
                raise errors.from_response(response)
        except httpx.HTTPError as e:
            raise errors.from_transport(e, self.base_url) from e
        return response

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as e:
            raise errors.malformed(f"{response.request.method} {response.request.url}", e) from e

    def _one(self, cls: type[T], response: httpx.Response) -> T:
        return decoding.decode(cls, self._json(response))

    def _many(self, cls: type[T], response: httpx.Response) -> list[T]:
        return decoding.decode_list(cls, self._json(response))

    def _field(self, response: httpx.Response, name: str) -> Any:
        body = self._json(response)
        if not isinstance(body, dict) or name not in body:
            raise errors.malformed(str(response.request.url), f"no {name!r} in the answer")
        return body[name]

    def _version(self, workspace: str, path: str, version: int | None) -> FileVersion:
        """One version's description, from the file's history (see the module doc)."""
        history = self.file_versions(workspace, path)
        if not history:
            raise errors.malformed("a file's versions", "a live file without versions")
        if version is None:
            return history[0]
        for entry in history:
            if entry.version == version:
                return entry
        newest = history[0]
        raise NotFound(
            f"{newest.path} has no version {version} (newest is {newest.version})",
            details={"path": newest.path, "version": version, "newest": newest.version},
        )

    # -- workspaces ---------------------------------------------------------------

    def list_workspaces(self, *, include_archived: bool = False) -> list[models.Workspace]:
        response = self._call(
            "GET", f"{API}/workspaces", params={"include_archived": include_archived}
        )
        return self._many(models.Workspace, response)

    def create_workspace(
        self,
        name: str,
        *,
        description: str = "",
        quota_bytes: int | None = None,
        intelligence: bool = True,
    ) -> models.Workspace:
        body = {
            "name": name,
            "description": description,
            "quota_bytes": quota_bytes,
            "intelligence": intelligence,
        }
        return self._one(models.Workspace, self._call("POST", f"{API}/workspaces", json=body))

    def get_workspace(self, workspace: str) -> models.Workspace:
        return self._one(models.Workspace, self._call("GET", self._ws(workspace)))

    def update_workspace(
        self,
        workspace: str,
        *,
        name: str | None = None,
        description: str | None = None,
        quota_bytes: int | None = None,
        intelligence: bool | None = None,
    ) -> models.Workspace:
        given = {
            "name": name,
            "description": description,
            "quota_bytes": quota_bytes,
            "intelligence": intelligence,
        }
        body = {key: value for key, value in given.items() if value is not None}
        return self._one(models.Workspace, self._call("PATCH", self._ws(workspace), json=body))

    def archive_workspace(self, workspace: str) -> models.Workspace:
        return self._one(models.Workspace, self._call("POST", self._ws(workspace, "archive")))

    # -- files --------------------------------------------------------------------

    def write_file(
        self,
        workspace: str,
        path: str,
        content: Content,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
        note: str | None = None,
    ) -> FileVersion:
        response = self._call(
            "PUT",
            self._ws(workspace, "files", _path(path)),
            params={"if_version": if_version, "note": note},
            content=streams.upload(content),
            headers={"X-Lock-Token": lock_token} if lock_token is not None else None,
        )
        return self._one(FileVersion, response)

    def read_file(self, workspace: str, path: str, *, version: int | None = None) -> FileContent:
        info, stream = self.open_file(workspace, path, version=version)
        with stream:
            return FileContent(info, stream.read())

    def open_file(
        self, workspace: str, path: str, *, version: int | None = None
    ) -> tuple[FileVersion, BinaryIO]:
        response = self._open(
            self._ws(workspace, "files", _path(path)), params={"version": version}
        )
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(response.close)
            number = response.headers.get("x-pilothouse-version", "")
            if not number.isdigit():
                raise errors.malformed(str(response.request.url), "no X-Pilothouse-Version")
            info = self._version(workspace, path, int(number))
            cleanup.pop_all()
        stream = streams.download(
            response, size=info.size, sha256=info.sha256, base_url=self.base_url
        )
        return info, stream

    def file_version(self, workspace: str, path: str, *, version: int | None = None) -> FileVersion:
        if version is not None and version < 1:
            # What the façade says before looking; the version list would say not_found.
            raise InvalidArgument("version must be a positive integer")
        return self._version(workspace, path, version)

    def stat_file(self, workspace: str, path: str) -> FileInfo:
        return self._one(FileInfo, self._call("GET", self._ws(workspace, "stat", _path(path))))

    def list_files(
        self,
        workspace: str,
        prefix: str = "/",
        *,
        recursive: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        params: Query = {"prefix": prefix, "recursive": recursive, "limit": limit, "cursor": cursor}
        return self._one(Page, self._call("GET", self._ws(workspace, "files"), params=params))

    def list_trash(self, workspace: str, path: str | None = None) -> list[FileInfo]:
        response = self._call("GET", self._ws(workspace, "trash"), params={"path": path})
        return self._many(FileInfo, response)

    def delete_file(
        self,
        workspace: str,
        path: str,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
    ) -> FileInfo:
        response = self._call(
            "DELETE",
            self._ws(workspace, "files", _path(path)),
            params={"if_version": if_version, "lock_token": lock_token},
        )
        return self._one(FileInfo, response)

    def restore_file(
        self,
        workspace: str,
        path: str,
        *,
        trash_id: str | None = None,
        lock_token: str | None = None,
    ) -> FileInfo:
        body = {"path": path, "trash_id": trash_id, "lock_token": lock_token}
        return self._one(
            FileInfo, self._call("POST", self._ws(workspace, "files:restore"), json=body)
        )

    def purge_file(self, workspace: str, path: str, *, trash_id: str | None = None) -> int:
        body = {"path": path, "trash_id": trash_id}
        freed = self._field(
            self._call("POST", self._ws(workspace, "files:purge"), json=body), "freed_bytes"
        )
        if not isinstance(freed, int):
            raise errors.malformed("files:purge", "freed_bytes is not an integer")
        return freed

    def move_file(
        self,
        workspace: str,
        source: str,
        target: str,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
    ) -> FileInfo:
        body = {
            "source": source,
            "target": target,
            "if_version": if_version,
            "lock_token": lock_token,
        }
        return self._one(FileInfo, self._call("POST", self._ws(workspace, "files:move"), json=body))

    def copy_file(
        self,
        workspace: str,
        source: str,
        target: str,
        *,
        version: int | None = None,
        lock_token: str | None = None,
    ) -> FileVersion:
        body = {"source": source, "target": target, "version": version, "lock_token": lock_token}
        response = self._call("POST", self._ws(workspace, "files:copy"), json=body)
        return self._one(FileVersion, response)

    def file_versions(self, workspace: str, path: str) -> list[FileVersion]:
        response = self._call("GET", self._ws(workspace, "versions", _path(path)))
        return self._many(FileVersion, response)

    def restore_version(
        self,
        workspace: str,
        path: str,
        version: int,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
    ) -> FileVersion:
        body = {
            "path": path,
            "version": version,
            "if_version": if_version,
            "lock_token": lock_token,
        }
        response = self._call("POST", self._ws(workspace, "files:restore-version"), json=body)
        return self._one(FileVersion, response)

    def get_metadata(self, workspace: str, path: str) -> dict[str, str]:
        response = self._call("GET", self._ws(workspace, "metadata", _path(path)))
        return decoding.decode_mapping(str, self._json(response))

    def set_metadata(
        self,
        workspace: str,
        path: str,
        values: Mapping[str, str],
        *,
        remove: Sequence[str] = (),
        lock_token: str | None = None,
    ) -> dict[str, str]:
        body = {"set": dict(values), "remove": list(remove), "lock_token": lock_token}
        response = self._call("PATCH", self._ws(workspace, "metadata", _path(path)), json=body)
        return decoding.decode_mapping(str, self._json(response))

    # -- locks --------------------------------------------------------------------

    def acquire_lock(
        self,
        workspace: str,
        path: str,
        *,
        scope: str = "file",
        ttl_seconds: float | None = None,
        enforce: bool = False,
        wait_seconds: float = 0,
    ) -> LockGrant:
        body = {
            "path": path,
            "scope": scope,
            "ttl_seconds": ttl_seconds,
            "enforce": enforce,
            "wait_seconds": wait_seconds,
        }
        response = self._call(
            "POST", self._ws(workspace, "locks"), json=body, wait=max(0.0, wait_seconds)
        )
        return self._one(LockGrant, response)

    def heartbeat_lock(
        self, workspace: str, lock_id: str, token: str, *, ttl_seconds: float | None = None
    ) -> LockInfo:
        url = self._ws(workspace, "locks", _segment(lock_id), "heartbeat")
        body = {"token": token, "ttl_seconds": ttl_seconds}
        return self._one(LockInfo, self._call("POST", url, json=body))

    def release_lock(self, workspace: str, lock_id: str, token: str) -> LockInfo:
        url = self._ws(workspace, "locks", _segment(lock_id), "release")
        return self._one(LockInfo, self._call("POST", url, json={"token": token}))

    def break_lock(self, workspace: str, lock_id: str, *, reason: str = "") -> LockInfo:
        url = self._ws(workspace, "locks", _segment(lock_id), "break")
        return self._one(LockInfo, self._call("POST", url, json={"reason": reason}))

    def list_locks(self, workspace: str) -> list[LockInfo]:
        return self._many(LockInfo, self._call("GET", self._ws(workspace, "locks")))

    def lock_status(self, workspace: str, path: str) -> list[LockInfo]:
        response = self._call("GET", self._ws(workspace, "locks"), params={"path": path})
        return self._many(LockInfo, response)

    # -- events and audit ---------------------------------------------------------

    def list_events(
        self,
        workspace: str,
        *,
        after: int = 0,
        types: Sequence[str] = (),
        path_prefix: str | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[Event]:
        return self.wait_events(
            workspace,
            after=after,
            timeout=0,
            types=types,
            path_prefix=path_prefix,
            actor_id=actor_id,
            since=since,
            until=until,
            limit=limit,
        )

    def wait_events(
        self,
        workspace: str,
        *,
        after: int,
        timeout: float,
        types: Sequence[str] = (),
        path_prefix: str | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[Event]:
        wait = min(max(0.0, timeout), MAX_WAIT_SECONDS)
        params: Query = {
            "after": after,
            "type": list(types) or None,
            "path_prefix": path_prefix,
            "actor": actor_id,
            "since": since,
            "until": until,
            "limit": limit,
            "wait": wait or None,
        }
        response = self._call("GET", self._ws(workspace, "events"), params=params, wait=wait)
        return decoding.decode_list(Event, self._field(response, "events"))

    def list_audit(
        self,
        workspace: str,
        *,
        after_seq: int = 0,
        action: str | None = None,
        principal_id: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        params = {"after": after_seq, "action": action, "principal": principal_id, "limit": limit}
        response = self._call("GET", self._ws(workspace, "audit"), params=params)
        return self._many(AuditEntry, response)

    def verify_audit(self, workspace: str) -> AuditVerdict:
        return self._one(AuditVerdict, self._call("GET", self._ws(workspace, "audit", "verify")))

    # -- members, agents, keys, ownership -------------------------------------------

    def list_members(self, workspace: str) -> list[Member]:
        return self._many(Member, self._call("GET", self._ws(workspace, "members")))

    def add_member(self, workspace: str, principal: str, role: str) -> Member:
        body = {"principal": principal, "role": role}
        return self._one(Member, self._call("POST", self._ws(workspace, "members"), json=body))

    def update_member_role(self, workspace: str, principal: str, role: str) -> Member:
        url = self._ws(workspace, "members", _segment(principal))
        return self._one(Member, self._call("PATCH", url, json={"role": role}))

    def remove_member(self, workspace: str, principal: str) -> None:
        self._call("DELETE", self._ws(workspace, "members", _segment(principal)))

    def create_agent(self, workspace: str, name: str, *, role: str = "member") -> Member:
        body = {"name": name, "role": role}
        return self._one(Member, self._call("POST", self._ws(workspace, "agents"), json=body))

    def create_api_key(
        self,
        workspace: str,
        principal: str,
        *,
        name: str = "default",
        scope: str = "write",
        expires_at: datetime | None = None,
    ) -> CreatedApiKey:
        body = {
            "principal": principal,
            "name": name,
            "scope": scope,
            "expires_at": _timestamp(expires_at) if expires_at is not None else None,
        }
        response = self._call("POST", self._ws(workspace, "apikeys"), json=body)
        return decoding.created_api_key(self._json(response))

    def list_api_keys(self, workspace: str) -> list[ApiKeyInfo]:
        return self._many(ApiKeyInfo, self._call("GET", self._ws(workspace, "apikeys")))

    def revoke_api_key(self, workspace: str, key_id: str) -> ApiKeyInfo:
        url = self._ws(workspace, "apikeys", _segment(key_id))
        return self._one(ApiKeyInfo, self._call("DELETE", url))

    def create_transfer(self, workspace: str) -> Transfer:
        return self._one(Transfer, self._call("POST", self._ws(workspace, "transfers")))

    def list_transfers(self, workspace: str) -> list[Transfer]:
        return self._many(Transfer, self._call("GET", self._ws(workspace, "transfers")))

    def cancel_transfer(self, workspace: str, transfer_id: str) -> Transfer:
        url = self._ws(workspace, "transfers", _segment(transfer_id))
        return self._one(Transfer, self._call("DELETE", url))

    def claim_transfer(self, token: str) -> Transfer:
        response = self._call("POST", f"{API}/ownership/claim", json={"token": token})
        return self._one(Transfer, response)


if TYPE_CHECKING:

    def _implements_every_operation(base_url: str, api_key: str) -> Workspace:
        # Inheriting leaves an omitted method as the protocol's empty stub; mypy refuses
        # to instantiate such a class, so this line fails type checking instead.
        return Client(base_url, api_key)
