"""Files and their versions.

A file is a row per *live path* plus its versions. Every write is a complete
replacement that appends version ``n + 1``; nothing is ever edited in place, so
"what did the deployer see at 14:02" always has an answer. Optimistic concurrency
is ``if_version``: the write lands only if the newest version is still the one the
writer read (``0`` means "must not exist yet").

Deleting moves the file to the trash: the row keeps its history and id (the trash
id) and frees the path, so a new file may be written there; restoring brings the
newest trashed file at a path back if the path is free. Purging removes the trashed
rows and their versions for good and gives their bytes back to the quota; the
blobs themselves are reclaimed by blob garbage collection.

Quota counts the logical bytes of every stored version, trash included —
predictable for users, even though identical content is stored once.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from pilothouse.core import ids
from pilothouse.workspace import paths
from pilothouse.workspace.errors import (
    Conflict,
    InvalidArgument,
    NotFound,
    QuotaExceeded,
    VersionConflict,
)
from pilothouse.workspace.intelligence import indexing
from pilothouse.workspace.models import (
    DirEntry,
    FileInfo,
    FileVersion,
    Page,
    PrincipalId,
    WorkspaceId,
)
from pilothouse.workspace.schema import file_metadata, file_versions, files, workspaces
from pilothouse.workspace.unit import Unit

MAX_METADATA_KEYS = 100
MAX_METADATA_KEY = 128
MAX_METADATA_VALUE = 4096
MAX_PAGE = 1000


@dataclass(frozen=True)
class Blob:
    sha256: str
    size: int


def _metadata(conn: Connection, file_id: str) -> dict[str, str]:
    rows = conn.execute(
        select(file_metadata.c.key, file_metadata.c.value)
        .where(file_metadata.c.file_id == file_id)
        .order_by(file_metadata.c.key)
    )
    return {r.key: r.value for r in rows}


def _info(conn: Connection, row: Any) -> FileInfo:
    return FileInfo(
        id=row.id,
        path=row.path,
        version=int(row.version),
        size=int(row.size),
        sha256=row.sha256,
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
        metadata=_metadata(conn, row.id),
    )


def live_row(conn: Connection, workspace_id: WorkspaceId, path: str) -> Any:
    return conn.execute(
        select(files).where(
            files.c.workspace_id == workspace_id,
            files.c.path == path,
            files.c.deleted_at.is_(None),
        )
    ).one_or_none()


def _require_live(conn: Connection, workspace_id: WorkspaceId, path: str) -> Any:
    row = live_row(conn, workspace_id, path)
    if row is None:
        raise NotFound(f"no file at {path}", details={"path": path})
    return row


def stat(conn: Connection, workspace_id: WorkspaceId, path: str) -> FileInfo:
    return _info(conn, _require_live(conn, workspace_id, path))


def version_of(
    conn: Connection, workspace_id: WorkspaceId, path: str, version: int | None
) -> FileVersion:
    """One version of a live file (the newest when ``version`` is None)."""
    row = _require_live(conn, workspace_id, path)
    wanted = int(row.version) if version is None else version
    ver = conn.execute(
        select(file_versions).where(
            file_versions.c.file_id == row.id, file_versions.c.version == wanted
        )
    ).one_or_none()
    if ver is None:
        raise NotFound(
            f"{path} has no version {wanted} (newest is {row.version})",
            details={"path": path, "version": wanted, "newest": int(row.version)},
        )
    return _version(path, ver)


def _version(path: str, row: Any) -> FileVersion:
    return FileVersion(
        path=path,
        version=int(row.version),
        size=int(row.size),
        sha256=row.sha256,
        created_at=row.created_at,
        author_id=PrincipalId(row.author_id),
        agent_name=row.agent_name,
        note=row.note,
    )


def versions(conn: Connection, workspace_id: WorkspaceId, path: str) -> list[FileVersion]:
    row = _require_live(conn, workspace_id, path)
    rows = conn.execute(
        select(file_versions)
        .where(file_versions.c.file_id == row.id)
        .order_by(file_versions.c.version.desc())
    )
    return [_version(path, r) for r in rows]


def _charge(unit: Unit, workspace: Any, size: int) -> None:
    if workspace.used_bytes + size > workspace.quota_bytes:
        raise QuotaExceeded(
            f"writing {size} bytes would exceed the workspace quota "
            f"({workspace.used_bytes} of {workspace.quota_bytes} bytes used)",
            details={
                "size": size,
                "used_bytes": int(workspace.used_bytes),
                "quota_bytes": int(workspace.quota_bytes),
            },
        )
    unit.conn.execute(
        update(workspaces)
        .where(workspaces.c.id == workspace.id)
        .values(used_bytes=workspaces.c.used_bytes + size)
    )


def _add_version(
    unit: Unit, file_id: str, version: int, blob: Blob, note: str | None = None
) -> None:
    unit.conn.execute(
        insert(file_versions).values(
            file_id=file_id,
            version=version,
            sha256=blob.sha256,
            size=blob.size,
            created_at=unit.now,
            author_id=unit.actor.principal.id,
            agent_name=unit.actor.effective_agent_name,
            note=note,
        )
    )
    unit.conn.execute(
        update(files)
        .where(files.c.id == file_id)
        .values(version=version, size=blob.size, sha256=blob.sha256, updated_at=unit.now)
    )


def _new_file(unit: Unit, workspace_id: WorkspaceId, path: str, blob: Blob) -> str:
    file_id = ids.new_id("fl")
    unit.conn.execute(
        insert(files).values(
            id=file_id,
            workspace_id=workspace_id,
            path=path,
            version=0,
            size=blob.size,
            sha256=blob.sha256,
            created_at=unit.now,
            updated_at=unit.now,
        )
    )
    return file_id


def check_if_version(path: str, current: int, if_version: int | None) -> None:
    if if_version is None or if_version == current:
        return
    if if_version < 0:
        raise InvalidArgument("if_version must be 0 (must not exist) or a version number")
    state = "does not exist" if current == 0 else f"is at version {current}"
    raise VersionConflict(
        f"{path} {state}, not version {if_version}",
        details={"path": path, "expected": if_version, "current": current},
    )


def write(
    unit: Unit,
    workspace: Any,
    path: str,
    blob: Blob,
    *,
    if_version: int | None,
    note: str | None = None,
    event_data: dict[str, Any] | None = None,
) -> FileVersion:
    """Append a version at ``path`` (creating the file), charge the quota, record."""
    row = live_row(unit.conn, workspace.id, path)
    current = int(row.version) if row is not None else 0
    check_if_version(path, current, if_version)
    _charge(unit, workspace, blob.size)
    file_id = row.id if row is not None else _new_file(unit, workspace.id, path, blob)
    _add_version(unit, file_id, current + 1, blob, note)
    if workspace.intelligence:
        indexing.enqueue(unit.conn, workspace.id, file_id, current + 1, blob.sha256, unit.now)
    unit.record(
        workspace.id,
        action="file.write",
        target=path,
        event="file.written",
        path=path,
        before=current or None,
        after=current + 1,
        data={
            "version": current + 1,
            "size": blob.size,
            "sha256": blob.sha256,
            **(event_data or {}),
        },
    )
    return FileVersion(
        path=path,
        version=current + 1,
        size=blob.size,
        sha256=blob.sha256,
        created_at=unit.now,
        author_id=unit.actor.principal.id,
        agent_name=unit.actor.effective_agent_name,
        note=note,
    )


def delete_to_trash(
    unit: Unit, workspace_id: WorkspaceId, path: str, *, if_version: int | None
) -> FileInfo:
    row = _require_live(unit.conn, workspace_id, path)
    check_if_version(path, int(row.version), if_version)
    unit.conn.execute(
        update(files)
        .where(files.c.id == row.id)
        .values(deleted_at=unit.now, deleted_by=unit.actor.principal.id)
    )
    unit.record(
        workspace_id,
        action="file.delete",
        target=path,
        event="file.deleted",
        path=path,
        before=int(row.version),
        data={"trash_id": row.id, "version": int(row.version)},
    )
    return FileInfo(**{**_info(unit.conn, row).__dict__, "deleted_at": unit.now})


def trash(conn: Connection, workspace_id: WorkspaceId, path: str | None = None) -> list[FileInfo]:
    stmt = select(files).where(
        files.c.workspace_id == workspace_id, files.c.deleted_at.is_not(None)
    )
    if path is not None:
        stmt = stmt.where(files.c.path == path)
    return [_info(conn, r) for r in conn.execute(stmt.order_by(files.c.deleted_at.desc()))]


def _trashed_row(
    conn: Connection, workspace_id: WorkspaceId, path: str, trash_id: str | None
) -> Any:
    stmt = select(files).where(
        files.c.workspace_id == workspace_id,
        files.c.path == path,
        files.c.deleted_at.is_not(None),
    )
    if trash_id:
        stmt = stmt.where(files.c.id == trash_id)
    row = conn.execute(stmt.order_by(files.c.deleted_at.desc()).limit(1)).one_or_none()
    if row is None:
        raise NotFound(f"nothing at {path} in the trash", details={"path": path})
    return row


def restore(
    unit: Unit, workspace_id: WorkspaceId, path: str, trash_id: str | None = None
) -> FileInfo:
    """Bring the newest trashed file at ``path`` back; the path must be free."""
    row = _trashed_row(unit.conn, workspace_id, path, trash_id)
    if live_row(unit.conn, workspace_id, path) is not None:
        raise Conflict(
            f"{path} exists; move or delete it before restoring the trashed file",
            details={"path": path},
        )
    unit.conn.execute(
        update(files)
        .where(files.c.id == row.id)
        .values(deleted_at=None, deleted_by=None, updated_at=unit.now)
    )
    unit.record(
        workspace_id,
        action="file.restore",
        target=path,
        event="file.restored",
        path=path,
        after=int(row.version),
        data={"trash_id": row.id, "version": int(row.version)},
    )
    return _info(unit.conn, live_row(unit.conn, workspace_id, path))


def purge(unit: Unit, workspace_id: WorkspaceId, path: str, trash_id: str | None = None) -> int:
    """Permanently remove trashed files at ``path`` (one, with ``trash_id``); returns bytes."""
    rows: Sequence[Any]
    if trash_id:
        rows = [_trashed_row(unit.conn, workspace_id, path, trash_id)]
    else:
        rows = unit.conn.execute(
            select(files).where(
                files.c.workspace_id == workspace_id,
                files.c.path == path,
                files.c.deleted_at.is_not(None),
            )
        ).all()
    if not rows:
        if live_row(unit.conn, workspace_id, path) is not None:
            raise Conflict(f"{path} is not in the trash; delete it first", details={"path": path})
        raise NotFound(f"nothing at {path} in the trash", details={"path": path})
    freed = 0
    removed = []
    for row in rows:
        freed += int(
            unit.conn.execute(
                select(func.coalesce(func.sum(file_versions.c.size), 0)).where(
                    file_versions.c.file_id == row.id
                )
            ).scalar_one()
        )
        unit.conn.execute(delete(file_versions).where(file_versions.c.file_id == row.id))
        unit.conn.execute(delete(file_metadata).where(file_metadata.c.file_id == row.id))
        unit.conn.execute(delete(files).where(files.c.id == row.id))
        indexing.enqueue(unit.conn, workspace_id, row.id, int(row.version), None, unit.now, "drop")
        removed.append(row.id)
    unit.conn.execute(
        update(workspaces)
        .where(workspaces.c.id == workspace_id)
        .values(used_bytes=workspaces.c.used_bytes - freed)
    )
    unit.record(
        workspace_id,
        action="file.purge",
        target=path,
        event="file.purged",
        path=path,
        data={"trash_ids": removed, "freed_bytes": freed},
    )
    return freed


def move(
    unit: Unit,
    workspace_id: WorkspaceId,
    source: str,
    target: str,
    *,
    if_version: int | None,
) -> FileInfo:
    """Rename a live file, history and metadata included; the target must be free."""
    if source == target:
        raise InvalidArgument("source and target are the same path")
    row = _require_live(unit.conn, workspace_id, source)
    check_if_version(source, int(row.version), if_version)
    if live_row(unit.conn, workspace_id, target) is not None:
        raise Conflict(f"{target} already exists", details={"path": target})
    unit.conn.execute(
        update(files).where(files.c.id == row.id).values(path=target, updated_at=unit.now)
    )
    unit.record(
        workspace_id,
        action="file.move",
        target=f"{source} -> {target}",
        event="file.moved",
        path=target,
        before=int(row.version),
        after=int(row.version),
        data={"from": source, "to": target, "version": int(row.version)},
    )
    return _info(unit.conn, live_row(unit.conn, workspace_id, target))


def copy(
    unit: Unit, workspace: Any, source: str, target: str, *, version: int | None
) -> FileVersion:
    """A new file at ``target`` whose first version shares ``source``'s bytes."""
    if source == target:
        raise InvalidArgument("source and target are the same path")
    original = version_of(unit.conn, workspace.id, source, version)
    if live_row(unit.conn, workspace.id, target) is not None:
        raise Conflict(f"{target} already exists", details={"path": target})
    src_row = _require_live(unit.conn, workspace.id, source)
    result = write(
        unit,
        workspace,
        target,
        Blob(original.sha256, original.size),
        if_version=0,
        event_data={"copied_from": source, "from_version": original.version},
    )
    target_id = live_row(unit.conn, workspace.id, target).id
    for key, value in _metadata(unit.conn, src_row.id).items():
        unit.conn.execute(insert(file_metadata).values(file_id=target_id, key=key, value=value))
    return result


def set_metadata(
    unit: Unit,
    workspace_id: WorkspaceId,
    path: str,
    values: dict[str, str],
    remove: Iterable[str] = (),
) -> dict[str, str]:
    row = _require_live(unit.conn, workspace_id, path)
    current = _metadata(unit.conn, row.id)
    dropped = [k for k in remove if k in current]
    for key, value in values.items():
        if not isinstance(key, str) or not key or len(key) > MAX_METADATA_KEY:
            raise InvalidArgument(f"metadata keys are 1-{MAX_METADATA_KEY} characters: {key!r}")
        if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE:
            raise InvalidArgument(
                f"metadata value of {key!r} must be a string of at most "
                f"{MAX_METADATA_VALUE} characters"
            )
    merged = {k: v for k, v in current.items() if k not in dropped} | values
    if len(merged) > MAX_METADATA_KEYS:
        raise InvalidArgument(f"a file carries at most {MAX_METADATA_KEYS} metadata keys")
    unit.conn.execute(delete(file_metadata).where(file_metadata.c.file_id == row.id))
    if merged:
        unit.conn.execute(
            insert(file_metadata),
            [{"file_id": row.id, "key": k, "value": v} for k, v in merged.items()],
        )
    unit.record(
        workspace_id,
        action="file.metadata",
        target=path,
        event="file.metadata_updated",
        path=path,
        data={"set": sorted(values), "removed": sorted(dropped)},
    )
    return merged


def get_metadata(conn: Connection, workspace_id: WorkspaceId, path: str) -> dict[str, str]:
    return _metadata(conn, _require_live(conn, workspace_id, path).id)


def _encode_cursor(lower: str) -> str:
    return base64.urlsafe_b64encode(lower.encode("utf-8")).decode("ascii")


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidArgument("malformed cursor; pass next_cursor from a listing") from None


def listing(
    conn: Connection,
    workspace_id: WorkspaceId,
    prefix: str,
    *,
    recursive: bool,
    limit: int,
    cursor: str | None,
) -> Page:
    """Live files under ``prefix`` in path order; one level shows subdirectories once."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidArgument(f"limit must be between 1 and {MAX_PAGE}")
    upper = paths.prefix_upper_bound(prefix)
    lower = prefix if cursor is None else _decode_cursor(cursor)
    if cursor is not None and not lower.startswith(prefix):
        raise InvalidArgument("the cursor belongs to another listing")
    entries: list[DirEntry] = []
    inclusive = cursor is None
    while len(entries) < limit:
        wanted = limit - len(entries)
        bound = files.c.path >= lower if inclusive else files.c.path > lower
        inclusive = False
        rows = conn.execute(
            select(files.c.path, files.c.version, files.c.size, files.c.sha256, files.c.updated_at)
            .where(
                files.c.workspace_id == workspace_id,
                files.c.deleted_at.is_(None),
                bound,
                files.c.path < upper,
            )
            .order_by(files.c.path)
            .limit(wanted)
        ).all()
        for row in rows:
            rest = row.path[len(prefix) :]
            if not recursive and "/" in rest:
                directory = prefix + rest.split("/", 1)[0] + "/"
                entries.append(DirEntry(directory, "directory"))
                lower = paths.prefix_upper_bound(directory)
                break  # query again past the whole subdirectory
            entries.append(
                DirEntry(
                    row.path, "file", int(row.version), int(row.size), row.sha256, row.updated_at
                )
            )
            lower = row.path
        else:
            if len(rows) < wanted:
                return Page(tuple(entries), None)
    more = conn.execute(
        select(files.c.path)
        .where(
            files.c.workspace_id == workspace_id,
            files.c.deleted_at.is_(None),
            files.c.path > lower,
            files.c.path < upper,
        )
        .limit(1)
    ).first()
    return Page(tuple(entries), _encode_cursor(lower) if more else None)


def referenced_blobs(conn: Connection) -> set[str]:
    return {r[0] for r in conn.execute(select(file_versions.c.sha256).distinct())}
