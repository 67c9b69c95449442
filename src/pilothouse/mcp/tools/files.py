"""``file``: read and write files, their versions, trash and metadata.

Content crosses MCP as JSON text, so it is either ``content`` (UTF-8 text, stored
exactly as given — JSON-looking text stays text) or ``content_base64`` (any
bytes). A read answers with ``content`` when the bytes are valid UTF-8 and with
``content_base64`` otherwise (or when asked), and always with ``sha256`` so a
caller can check it got what was stored. Reads are inlined in the reply, so they
are capped at :data:`MAX_INLINE_BYTES`; larger files go through REST or a signed
download link.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from pydantic import Field, model_validator

from pilothouse.mcp import registry
from pilothouse.mcp.registry import Call, Reply
from pilothouse.mcp.wire import (
    Arguments,
    FilePath,
    IfVersion,
    Limit,
    LockToken,
    TextList,
    TextMap,
    Version,
    WorkspaceRef,
)
from pilothouse.workspace.errors import TooLarge

MAX_INLINE_BYTES = 16 * 1024 * 1024
"""Largest file ``read`` returns inline (16 MiB); beyond it, use REST or a download link."""

file = registry.tool(
    "file",
    title="Files",
    description="Files of a workspace: every write is a complete replacement that creates a "
    "new version; deletes go to the trash.",
)


class PathArgs(Arguments):
    workspace: WorkspaceRef
    path: FilePath


class ReadArgs(PathArgs):
    version: Version = None
    as_base64: bool = Field(False, description="Return content_base64 even for text.")


class WriteArgs(PathArgs):
    content: Annotated[
        str | None,
        Field(strict=True, description="The complete new content as text, stored byte for byte."),
    ] = None
    content_base64: str | None = Field(
        None, description="The complete new content as base64, for binary files."
    )
    if_version: IfVersion = None
    lock_token: LockToken = None
    note: str | None = Field(None, max_length=1024, description="A note kept with the version.")

    @model_validator(mode="after")
    def _one_content(self) -> WriteArgs:
        if (self.content is None) == (self.content_base64 is None):
            raise ValueError("give exactly one of content (text) or content_base64 (bytes)")
        self.data()
        return self

    def data(self) -> bytes:
        if self.content is not None:
            try:
                return self.content.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    "content is not valid Unicode text; send the bytes as content_base64"
                ) from None
        try:
            return base64.b64decode(self.content_base64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("content_base64 is not valid base64") from None


class ListArgs(Arguments):
    workspace: WorkspaceRef
    prefix: str = Field("/", max_length=4096, description="Directory to list, e.g. /status/.")
    recursive: bool = Field(False, description="List the whole subtree, not one level.")
    limit: Limit = 100
    cursor: str | None = Field(None, max_length=4096, description="next_cursor of a listing.")


class GuardedArgs(PathArgs):
    if_version: IfVersion = None
    lock_token: LockToken = None


class TrashArgs(Arguments):
    workspace: WorkspaceRef
    path: Annotated[str | None, Field(max_length=4096, description="Only this path.")] = None


class RestoreArgs(PathArgs):
    trash_id: str | None = Field(None, max_length=64, description="Which trashed file (its id).")
    lock_token: LockToken = None


class PurgeArgs(PathArgs):
    trash_id: str | None = Field(None, max_length=64, description="Which trashed file (its id).")


class MoveArgs(Arguments):
    workspace: WorkspaceRef
    source: FilePath
    target: FilePath
    if_version: IfVersion = None
    lock_token: LockToken = None


class CopyArgs(Arguments):
    workspace: WorkspaceRef
    source: FilePath
    target: FilePath
    version: Version = None
    lock_token: LockToken = None


class RestoreVersionArgs(PathArgs):
    version: int = Field(ge=1, description="The old version to make the newest again.")
    if_version: IfVersion = None
    lock_token: LockToken = None


class MetadataSetArgs(PathArgs):
    set: TextMap = Field(default_factory=dict, description='Keys to set, e.g. {"owner": "ci"}.')
    remove: TextList = Field(default_factory=list, description="Keys to remove.")
    lock_token: LockToken = None


@file.action("read", ReadArgs, read_only=True)
def read(call: Call, args: ReadArgs) -> Reply:
    """Read the newest (or a given) version."""
    info = call.service.file_version(call.actor, args.workspace, args.path, version=args.version)
    if info.size > MAX_INLINE_BYTES:
        raise TooLarge(
            f"{info.path} is {info.size} bytes; MCP reads inline at most {MAX_INLINE_BYTES} "
            "(use the REST API or a download link)",
            details={"path": info.path, "size": info.size, "limit": MAX_INLINE_BYTES},
        )
    data = call.service.read_file(
        call.actor, args.workspace, args.path, version=info.version
    ).content
    reply: Reply = {
        "path": info.path,
        "version": info.version,
        "size": info.size,
        "sha256": info.sha256,
        "created_at": info.to_dict()["created_at"],
    }
    if not args.as_base64:
        try:
            return {**reply, "encoding": "utf-8", "content": data.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    return {**reply, "encoding": "base64", "content_base64": base64.b64encode(data).decode()}


@file.action("write", WriteArgs, read_only=False, destructive=True)
def write(call: Call, args: WriteArgs) -> Reply:
    """Replace the whole file with new content, creating the next version."""
    return call.service.write_file(
        call.actor,
        args.workspace,
        args.path,
        args.data(),
        if_version=args.if_version,
        lock_token=args.lock_token,
        note=args.note,
    ).to_dict()


@file.action("stat", PathArgs, read_only=True)
def stat(call: Call, args: PathArgs) -> Reply:
    """Newest version, size, sha256 and metadata of a file."""
    return call.service.stat_file(call.actor, args.workspace, args.path).to_dict()


@file.action("list", ListArgs, read_only=True)
def list_files(call: Call, args: ListArgs) -> Reply:
    """Files and directories under a prefix, one page at a time."""
    page = call.service.list_files(
        call.actor,
        args.workspace,
        args.prefix,
        recursive=args.recursive,
        limit=args.limit,
        cursor=args.cursor,
    )
    return page.to_dict()


@file.action("delete", GuardedArgs, read_only=False, destructive=True)
def delete(call: Call, args: GuardedArgs) -> Reply:
    """Move a file to the trash; the reply's id is its trash id."""
    return call.service.delete_file(
        call.actor,
        args.workspace,
        args.path,
        if_version=args.if_version,
        lock_token=args.lock_token,
    ).to_dict()


@file.action("trash", TrashArgs, read_only=True)
def trash(call: Call, args: TrashArgs) -> Reply:
    """Files in the trash (optionally at one path)."""
    found = call.service.list_trash(call.actor, args.workspace, args.path)
    return {"files": [f.to_dict() for f in found]}


@file.action("restore", RestoreArgs, read_only=False)
def restore(call: Call, args: RestoreArgs) -> Reply:
    """Bring the newest trashed file at a path (or a given trash id) back."""
    return call.service.restore_file(
        call.actor,
        args.workspace,
        args.path,
        trash_id=args.trash_id,
        lock_token=args.lock_token,
    ).to_dict()


@file.action("purge", PurgeArgs, read_only=False, destructive=True)
def purge(call: Call, args: PurgeArgs) -> Reply:
    """Remove trashed files at a path for good, freeing their quota."""
    freed = call.service.purge_file(call.actor, args.workspace, args.path, trash_id=args.trash_id)
    return {"path": args.path, "freed_bytes": freed}


@file.action("move", MoveArgs, read_only=False)
def move(call: Call, args: MoveArgs) -> Reply:
    """Rename a file, keeping its history."""
    return call.service.move_file(
        call.actor,
        args.workspace,
        args.source,
        args.target,
        if_version=args.if_version,
        lock_token=args.lock_token,
    ).to_dict()


@file.action("copy", CopyArgs, read_only=False)
def copy(call: Call, args: CopyArgs) -> Reply:
    """Start a new file from a version of another."""
    return call.service.copy_file(
        call.actor,
        args.workspace,
        args.source,
        args.target,
        version=args.version,
        lock_token=args.lock_token,
    ).to_dict()


@file.action("versions", PathArgs, read_only=True)
def versions(call: Call, args: PathArgs) -> Reply:
    """Every version of a file: number, size, sha256, author, time."""
    found = call.service.file_versions(call.actor, args.workspace, args.path)
    return {"path": args.path, "versions": [v.to_dict() for v in found]}


@file.action("restore_version", RestoreVersionArgs, read_only=False, destructive=True)
def restore_version(call: Call, args: RestoreVersionArgs) -> Reply:
    """Make an old version the newest again, as a new version."""
    return call.service.restore_version(
        call.actor,
        args.workspace,
        args.path,
        args.version,
        if_version=args.if_version,
        lock_token=args.lock_token,
    ).to_dict()


@file.action("metadata_get", PathArgs, read_only=True)
def metadata_get(call: Call, args: PathArgs) -> Reply:
    """A file's metadata (string keys and values)."""
    found = call.service.get_metadata(call.actor, args.workspace, args.path)
    return {"path": args.path, "metadata": found}


@file.action("metadata_set", MetadataSetArgs, read_only=False, destructive=True, idempotent=True)
def metadata_set(call: Call, args: MetadataSetArgs) -> Reply:
    """Set and remove metadata keys; returns the resulting metadata."""
    found = call.service.set_metadata(
        call.actor,
        args.workspace,
        args.path,
        args.set,
        remove=args.remove,
        lock_token=args.lock_token,
    )
    return {"path": args.path, "metadata": found}
