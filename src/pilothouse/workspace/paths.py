"""Workspace paths: POSIX, absolute, normalised, and refused when ambiguous.

A path names a file (``/status/validated.json``) or, for tree locks and listings,
a directory (``/status/``). Normalisation is purely lexical, because a workspace
has no real directories to resolve against: repeated slashes collapse, ``.``
segments vanish, text is NFC-normalised so visually equal names are one file.
``..`` is refused rather than resolved — an agent that writes ``../x`` has a bug
that silent resolution would hide, and refusing it closes every traversal trick.
Ordering and prefix queries rely on code-point order (the database columns use
binary collation), so ``under`` is a plain string test.
"""

from __future__ import annotations

import unicodedata

from pilothouse.workspace.errors import InvalidPath

MAX_SEGMENT_BYTES = 255
ROOT = "/"


def _refuse(path: str, reason: str) -> InvalidPath:
    shown = path if len(path) <= 120 else path[:117] + "..."
    return InvalidPath(f"invalid path {shown!r}: {reason}", details={"path": shown})


def normalise(path: str, *, max_length: int = 1024) -> str:
    """The canonical form of a file path; raises :class:`InvalidPath`.

    ``status//validated.json`` → ``/status/validated.json``. The root and paths
    ending in ``/`` name directories, not files, and are refused here.
    """
    canonical = _canonical(path, max_length=max_length)
    if canonical == ROOT or path.endswith("/"):
        raise _refuse(path, "names a directory, not a file")
    return canonical


def normalise_dir(path: str, *, max_length: int = 1024) -> str:
    """The canonical form of a directory prefix, always ending in ``/``."""
    canonical = _canonical(path, max_length=max_length)
    return canonical if canonical == ROOT else canonical + "/"


def normalise_any(path: str, *, max_length: int = 1024) -> str:
    """A canonical path that may name a file or the root (lock targets)."""
    return _canonical(path, max_length=max_length)


def _canonical(path: str, *, max_length: int) -> str:
    if not isinstance(path, str) or not path.strip():
        raise _refuse(str(path), "empty")
    if len(path) > max_length * 4:
        raise _refuse(path, f"longer than {max_length} characters")
    for ch in path:
        if ch == "\x00":
            raise _refuse(path, "contains NUL")
        if unicodedata.category(ch) == "Cc":
            raise _refuse(path, f"contains control character U+{ord(ch):04X}")
        if ch == "\\":
            raise _refuse(path, "contains a backslash; use '/' as the separator")
    text = unicodedata.normalize("NFC", path)
    segments: list[str] = []
    for segment in text.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            raise _refuse(path, "'..' segments are not allowed")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise _refuse(path, f"a segment is longer than {MAX_SEGMENT_BYTES} bytes")
        if segment != segment.strip():
            raise _refuse(path, "a segment starts or ends with whitespace")
        segments.append(segment)
    canonical = ROOT + "/".join(segments)
    if len(canonical) > max_length:
        raise _refuse(path, f"longer than {max_length} characters")
    return canonical


def under(path: str, directory: str) -> bool:
    """Whether ``path`` is ``directory`` itself or lies anywhere below it."""
    if directory == ROOT:
        return True
    base = directory.rstrip("/")
    return path == base or path.startswith(base + "/")


def parent(path: str) -> str:
    """The directory holding ``path``, with a trailing ``/``: ``/a/b.json`` → ``/a/``."""
    head = path.rstrip("/").rsplit("/", 1)[0]
    return head + "/" if head else ROOT


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix + "\U0010ffff"
