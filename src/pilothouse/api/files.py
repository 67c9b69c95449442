"""``/api/v1/workspaces/{ws}/files…``: streaming upload and download, and file actions.

Uploads stream: ``PUT …/files/{path}`` hands the request body to the service chunk
by chunk through a worker thread (:func:`anyio.from_thread.run` pulls the next
chunk from the event loop), so a 1 GiB artifact never sits in memory. Downloads
stream the blob back and honour a single ``Range`` (206 / 416). ``ETag`` is the
version's sha256, ``X-Pilothouse-Version`` its number.

Actions that are not plain CRUD on one path are ``POST …/files:move`` and friends,
with JSON bodies.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any, BinaryIO

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.requests import ClientDisconnect

from pilothouse.api import API, wire
from pilothouse.api.auth import ActorDep, ServiceDep
from pilothouse.workspace.errors import InvalidArgument, WorkspaceError
from pilothouse.workspace.models import FileVersion

router = APIRouter(prefix=API, tags=["files"])
CHUNK = 1024 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(WorkspaceError):
    code = "range_not_satisfiable"


def _path(path: str) -> str:
    return "/" + path


def _bridge(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """A blocking iterator over an async stream; runs in a worker thread."""

    async def next_chunk() -> bytes:
        return await stream.__anext__()

    while True:
        try:
            chunk: bytes = anyio.from_thread.run(next_chunk)
        except StopAsyncIteration:
            return
        except ClientDisconnect:
            raise InvalidArgument("the client went away before the upload finished") from None
        if chunk:
            yield chunk


@router.get("/workspaces/{workspace}/files")
def list_files(
    workspace: str,
    service: ServiceDep,
    actor: ActorDep,
    prefix: str = "/",
    recursive: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    page = service.list_files(
        actor, workspace, prefix, recursive=recursive, limit=limit, cursor=cursor
    )
    return page.to_dict()


@router.put("/workspaces/{workspace}/files/{path:path}")
async def write_file(
    workspace: str,
    path: str,
    request: Request,
    service: ServiceDep,
    actor: ActorDep,
    if_version: Annotated[int | None, Query(ge=0)] = None,
    lock_token: Annotated[str | None, Query(max_length=256)] = None,
    x_lock_token: Annotated[str | None, Header(max_length=256)] = None,
    note: Annotated[str | None, Query(max_length=256)] = None,
) -> dict[str, Any]:
    """Store the request body as a complete new version of the file."""
    chunks = request.stream()

    def write() -> FileVersion:
        return service.write_file(
            actor,
            workspace,
            _path(path),
            _bridge(chunks),
            if_version=if_version,
            lock_token=lock_token or x_lock_token,
            note=note,
        )

    return (await anyio.to_thread.run_sync(write)).to_dict()


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    if not header:
        return None
    match = RANGE.match(header.strip())
    if not match or header.count(",") or not any(match.groups()):
        return None  # unsupported forms: answer with the whole body, as RFC 9110 allows
    first, last = match.groups()
    if first == "":
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable("empty suffix range", details={"size": size})
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(
            f"range {header} is outside the {size}-byte file", details={"size": size}
        )
    return start, end


def _read_span(stream: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    with stream:
        stream.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = stream.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


def _headers(info: FileVersion) -> dict[str, str]:
    return {
        "ETag": f'"{info.sha256}"',
        "X-Pilothouse-Version": str(info.version),
        "X-Pilothouse-Sha256": info.sha256,
        "Accept-Ranges": "bytes",
    }


def stream_version(
    info: FileVersion, stream: BinaryIO, range_header: str | None, *, head: bool = False
) -> Response:
    """A download response for one version, honouring ``Range``; shared with signed links."""
    try:
        span = _parse_range(range_header, info.size)
    except RangeNotSatisfiable:
        stream.close()
        raise
    headers = _headers(info)
    start, end = span if span else (0, info.size - 1)
    headers["Content-Length"] = str(max(0, end - start + 1))
    status = 200
    if span:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{info.size}"
    if head or info.size == 0:
        stream.close()
        return Response(status_code=status, headers=headers, media_type="application/octet-stream")
    return StreamingResponse(
        _read_span(stream, start, end),
        status_code=status,
        headers=headers,
        media_type="application/octet-stream",
    )


@router.get("/workspaces/{workspace}/files/{path:path}")
def read_file(
    workspace: str,
    path: str,
    service: ServiceDep,
    actor: ActorDep,
    version: Annotated[int | None, Query(ge=1)] = None,
    range_: Annotated[str | None, Header(alias="range")] = None,
) -> Response:
    """The bytes of a version (newest by default); supports a single ``Range``."""
    info, stream = service.open_file(actor, workspace, _path(path), version=version)
    return stream_version(info, stream, range_)


@router.head("/workspaces/{workspace}/files/{path:path}")
def head_file(
    workspace: str,
    path: str,
    service: ServiceDep,
    actor: ActorDep,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    info = service.file_version(actor, workspace, _path(path), version=version)
    headers = {**_headers(info), "Content-Length": str(info.size)}
    return Response(status_code=200, headers=headers, media_type="application/octet-stream")


@router.delete("/workspaces/{workspace}/files/{path:path}")
def delete_file(
    workspace: str,
    path: str,
    service: ServiceDep,
    actor: ActorDep,
    if_version: Annotated[int | None, Query(ge=0)] = None,
    lock_token: Annotated[str | None, Query(max_length=256)] = None,
    x_lock_token: Annotated[str | None, Header(max_length=256)] = None,
) -> dict[str, Any]:
    """Move the file to the trash; the result's ``id`` is its trash id."""
    return service.delete_file(
        actor,
        workspace,
        _path(path),
        if_version=if_version,
        lock_token=lock_token or x_lock_token,
    ).to_dict()


@router.get("/workspaces/{workspace}/stat/{path:path}")
def stat_file(workspace: str, path: str, service: ServiceDep, actor: ActorDep) -> dict[str, Any]:
    return service.stat_file(actor, workspace, _path(path)).to_dict()


@router.get("/workspaces/{workspace}/versions/{path:path}")
def file_versions(
    workspace: str, path: str, service: ServiceDep, actor: ActorDep
) -> list[dict[str, Any]]:
    return [v.to_dict() for v in service.file_versions(actor, workspace, _path(path))]


@router.get("/workspaces/{workspace}/metadata/{path:path}")
def get_metadata(workspace: str, path: str, service: ServiceDep, actor: ActorDep) -> dict[str, str]:
    return service.get_metadata(actor, workspace, _path(path))


@router.patch("/workspaces/{workspace}/metadata/{path:path}")
def set_metadata(
    workspace: str, path: str, body: wire.MetadataUpdate, service: ServiceDep, actor: ActorDep
) -> dict[str, str]:
    return service.set_metadata(
        actor, workspace, _path(path), body.set, remove=body.remove, lock_token=body.lock_token
    )


@router.get("/workspaces/{workspace}/trash")
def list_trash(
    workspace: str, service: ServiceDep, actor: ActorDep, path: str | None = None
) -> list[dict[str, Any]]:
    return [f.to_dict() for f in service.list_trash(actor, workspace, path)]


@router.post("/workspaces/{workspace}/files:move")
def move_file(
    workspace: str, body: wire.Move, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.move_file(
        actor,
        workspace,
        body.source,
        body.target,
        if_version=body.if_version,
        lock_token=body.lock_token,
    ).to_dict()


@router.post("/workspaces/{workspace}/files:copy")
def copy_file(
    workspace: str, body: wire.Copy, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.copy_file(
        actor,
        workspace,
        body.source,
        body.target,
        version=body.version,
        lock_token=body.lock_token,
    ).to_dict()


@router.post("/workspaces/{workspace}/files:restore")
def restore_file(
    workspace: str, body: wire.Restore, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.restore_file(
        actor, workspace, body.path, trash_id=body.trash_id, lock_token=body.lock_token
    ).to_dict()


@router.post("/workspaces/{workspace}/files:purge")
def purge_file(
    workspace: str, body: wire.Purge, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    freed = service.purge_file(actor, workspace, body.path, trash_id=body.trash_id)
    return {"path": body.path, "freed_bytes": freed}


@router.post("/workspaces/{workspace}/files:restore-version")
def restore_version(
    workspace: str, body: wire.RestoreVersion, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.restore_version(
        actor,
        workspace,
        body.path,
        body.version,
        if_version=body.if_version,
        lock_token=body.lock_token,
    ).to_dict()
