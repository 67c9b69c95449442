"""``pilothouse file …``: versioned files.

``write`` streams from ``--from FILE`` or stdin, so large artifacts never sit in
memory; ``read`` writes the raw bytes to stdout (or ``--to FILE``) unless
``--output json`` asks for a JSON envelope (text as ``content``, binary as
``content_base64``).
"""

from __future__ import annotations

import base64
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from pilothouse.cli.session import (
    ApiKeyOpt,
    HomeOpt,
    Output,
    OutputOpt,
    WsArg,
    emit,
    pairs,
    session,
    table,
)
from pilothouse.workspace.errors import InvalidArgument
from pilothouse.workspace.models import FileVersion

app = typer.Typer(help="Write, read and manage versioned files.", no_args_is_help=True)

PathArg = Annotated[str, typer.Argument(help="File path in the workspace, e.g. /status/x.json.")]
IfVersionOpt = Annotated[
    int | None,
    typer.Option("--if-version", help="Only if the newest version is N (0: must not exist)."),
]
LockTokenOpt = Annotated[
    str | None, typer.Option("--lock-token", help="Token of an enforced lock covering the path.")
]
CHUNK = 1024 * 1024


def _stream(source: BinaryIO) -> Iterator[bytes]:
    while chunk := source.read(CHUNK):
        yield chunk


def _show_version(output: Output, version: FileVersion) -> None:
    emit(output, version.to_dict(), lambda: pairs(version.to_dict()))


@app.command("write")
def write(
    workspace: WsArg,
    path: PathArg,
    from_: Annotated[
        Path | None,
        typer.Option("--from", help="Read the content from this file instead of stdin."),
    ] = None,
    if_version: IfVersionOpt = None,
    lock_token: LockTokenOpt = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Store a complete new version of PATH."""
    if from_ is None and sys.stdin.isatty():
        raise InvalidArgument("give --from FILE or pipe the content on stdin")
    with session(home, api_key, output) as s:
        source: BinaryIO
        if from_ is not None:
            try:
                source = from_.open("rb")
            except OSError as e:
                raise InvalidArgument(f"cannot read {from_}: {e.strerror}") from None
        else:
            source = sys.stdin.buffer
        with source:
            version = s.service.write_file(
                s.actor,
                workspace,
                path,
                _stream(source),
                if_version=if_version,
                lock_token=lock_token,
            )
        _show_version(output, version)


@app.command("read")
def read(
    workspace: WsArg,
    path: PathArg,
    version: Annotated[int | None, typer.Option(help="Read this version (default newest).")] = None,
    to: Annotated[Path | None, typer.Option("--to", help="Write the bytes to this file.")] = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Print the bytes of PATH (raw, or a JSON envelope with --output json)."""
    with session(home, api_key, output) as s:
        info, stream = s.service.open_file(s.actor, workspace, path, version=version)
        with stream:
            if output is Output.JSON:
                data = stream.read()
                body = info.to_dict()
                try:
                    body["content"] = data.decode("utf-8")
                except UnicodeDecodeError:
                    body["content_base64"] = base64.b64encode(data).decode("ascii")
                emit(output, body)
            elif to is not None:
                with to.open("wb") as out:
                    shutil.copyfileobj(stream, out, CHUNK)
            else:
                shutil.copyfileobj(stream, sys.stdout.buffer, CHUNK)
                sys.stdout.buffer.flush()


@app.command("stat")
def stat(
    workspace: WsArg,
    path: PathArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Newest version, size, digest and metadata of PATH."""
    with session(home, api_key, output) as s:
        info = s.service.stat_file(s.actor, workspace, path)
        emit(output, info.to_dict(), lambda: pairs(info.to_dict()))


@app.command("list")
def list_(
    workspace: WsArg,
    prefix: Annotated[str, typer.Argument(help="Directory to list.")] = "/",
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Everything below.")] = False,
    limit: Annotated[int, typer.Option(help="Entries per page (1-1000).")] = 100,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Files (and, one level deep, directories) under PREFIX."""
    with session(home, api_key, output) as s:
        page = s.service.list_files(
            s.actor, workspace, prefix, recursive=recursive, limit=limit, cursor=cursor
        )

        def render() -> None:
            table(
                None,
                ["path", "version", "size", "updated"],
                [[e.path, e.version, e.size, e.to_dict()["updated_at"]] for e in page.entries],
            )
            if page.next_cursor:
                typer.echo(f"more: --cursor {page.next_cursor}")

        emit(output, page.to_dict(), render)


@app.command("versions")
def versions(
    workspace: WsArg,
    path: PathArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """The history of PATH, newest first."""
    with session(home, api_key, output) as s:
        items = s.service.file_versions(s.actor, workspace, path)
        emit(
            output,
            [v.to_dict() for v in items],
            lambda: table(
                None,
                ["version", "size", "sha256", "created", "author", "agent", "note"],
                [
                    [
                        v.version,
                        v.size,
                        v.sha256[:12],
                        v.to_dict()["created_at"],
                        v.author_id,
                        v.agent_name,
                        v.note,
                    ]
                    for v in items
                ],
            ),
        )


@app.command("delete")
def delete(
    workspace: WsArg,
    path: PathArg,
    if_version: IfVersionOpt = None,
    lock_token: LockTokenOpt = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Move PATH to the trash (restore brings it back)."""
    with session(home, api_key, output) as s:
        info = s.service.delete_file(
            s.actor, workspace, path, if_version=if_version, lock_token=lock_token
        )
        emit(output, info.to_dict(), lambda: typer.echo(f"{info.path} moved to trash ({info.id})"))


@app.command("restore")
def restore(
    workspace: WsArg,
    path: PathArg,
    trash_id: Annotated[
        str | None, typer.Option(help="Which trashed file (default the newest).")
    ] = None,
    version: Annotated[
        int | None, typer.Option(help="Instead: make this old version the newest again.")
    ] = None,
    lock_token: LockTokenOpt = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Restore PATH from the trash, or an old version of it with --version."""
    with session(home, api_key, output) as s:
        if version is not None:
            restored = s.service.restore_version(
                s.actor, workspace, path, version, lock_token=lock_token
            )
            _show_version(output, restored)
            return
        info = s.service.restore_file(
            s.actor, workspace, path, trash_id=trash_id, lock_token=lock_token
        )
        emit(output, info.to_dict(), lambda: typer.echo(f"{info.path} restored at v{info.version}"))


@app.command("purge")
def purge(
    workspace: WsArg,
    path: PathArg,
    trash_id: Annotated[str | None, typer.Option(help="Only this trashed file.")] = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Delete trashed files at PATH for good."""
    with session(home, api_key, output) as s:
        freed = s.service.purge_file(s.actor, workspace, path, trash_id=trash_id)
        emit(
            output,
            {"path": path, "freed_bytes": freed},
            lambda: typer.echo(f"purged {path}; {freed} bytes freed"),
        )


@app.command("trash")
def trash(
    workspace: WsArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """What is in the trash."""
    with session(home, api_key, output) as s:
        items = s.service.list_trash(s.actor, workspace)
        emit(
            output,
            [i.to_dict() for i in items],
            lambda: table(
                None,
                ["path", "trash id", "version", "deleted"],
                [[i.path, i.id, i.version, i.to_dict()["deleted_at"]] for i in items],
            ),
        )


@app.command("move")
def move(
    workspace: WsArg,
    source: Annotated[str, typer.Argument(help="Current path.")],
    target: Annotated[str, typer.Argument(help="New path (must be free).")],
    if_version: IfVersionOpt = None,
    lock_token: LockTokenOpt = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Rename a file, keeping its history."""
    with session(home, api_key, output) as s:
        info = s.service.move_file(
            s.actor, workspace, source, target, if_version=if_version, lock_token=lock_token
        )
        emit(output, info.to_dict(), lambda: typer.echo(f"{source} -> {info.path}"))


@app.command("copy")
def copy(
    workspace: WsArg,
    source: Annotated[str, typer.Argument(help="Path to copy.")],
    target: Annotated[str, typer.Argument(help="New path (must be free).")],
    version: Annotated[int | None, typer.Option(help="Copy this version.")] = None,
    lock_token: LockTokenOpt = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Copy a file (the bytes are shared, not duplicated)."""
    with session(home, api_key, output) as s:
        _show_version(
            output,
            s.service.copy_file(
                s.actor, workspace, source, target, version=version, lock_token=lock_token
            ),
        )


@app.command("meta")
def meta(
    workspace: WsArg,
    path: PathArg,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="KEY=VALUE to set (repeatable).")
    ] = None,
    unset: Annotated[list[str] | None, typer.Option("--unset", help="KEY to remove.")] = None,
    lock_token: LockTokenOpt = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Show, set or remove key/value metadata of PATH."""
    values: dict[str, str] = {}
    for item in set_ or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidArgument(f"--set takes KEY=VALUE, not {item!r}")
        values[key] = value
    with session(home, api_key, output) as s:
        if values or unset:
            result = s.service.set_metadata(
                s.actor, workspace, path, values, remove=unset or [], lock_token=lock_token
            )
        else:
            result = s.service.get_metadata(s.actor, workspace, path)
        emit(output, result, lambda: pairs(result))
