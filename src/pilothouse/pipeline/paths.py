"""Workspace paths and globs as written in ``pilothouse.yaml``.

The rules match the workspace's own (absolute, POSIX, no ``..``, no control
characters), checked here rather than imported so the file can be validated
offline without a workspace. Paths are canonicalised — ``//`` and ``.``
segments collapse — so cross-references compare equal however they were typed.
A trailing ``/`` marks a directory, which only some fields accept.

Stage ``when`` globs match changed files of the repository, not workspace files:
they are relative (a leading ``/`` is ignored on both sides) and use
:mod:`fnmatch`, where ``*`` also crosses ``/``.
"""

from __future__ import annotations

import fnmatch
import unicodedata
from collections.abc import Iterable

MAX_LENGTH = 1024
MAX_SEGMENT_BYTES = 255


def workspace_path(text: str, *, directory_ok: bool = False) -> str:
    """The canonical form of a file path (or a directory if allowed); raises ``ValueError``."""
    if not text:
        raise ValueError("empty path")
    if not text.startswith("/"):
        raise ValueError(f"path {text!r} must be absolute (start with '/')")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"path is longer than {MAX_LENGTH} characters")
    for ch in text:
        if unicodedata.category(ch) == "Cc":
            raise ValueError(f"path {text!r} contains control character U+{ord(ch):04X}")
        if ch == "\\":
            raise ValueError(f"path {text!r} contains a backslash; use '/' as the separator")
    segments: list[str] = []
    for segment in unicodedata.normalize("NFC", text).split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            raise ValueError(f"path {text!r} has a '..' segment, which is not allowed")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise ValueError(f"path {text!r} has a segment longer than {MAX_SEGMENT_BYTES} bytes")
        if segment != segment.strip():
            raise ValueError(f"path {text!r} has a segment that starts or ends with whitespace")
        segments.append(segment)
    canonical = "/" + "/".join(segments)
    is_directory = canonical == "/" or text.endswith("/")
    if is_directory and not directory_ok:
        raise ValueError(f"path {text!r} names a directory; a file path is needed here")
    return canonical + "/" if is_directory and canonical != "/" else canonical


def parent_tree(path: str) -> str:
    """The directory a tree lock on ``path`` covers: ``/status/deploy.lock`` → ``/status/``."""
    if path.endswith("/"):
        return path
    head = path.rsplit("/", 1)[0]
    return head + "/" if head else "/"


def glob(text: str) -> str:
    """A ``when`` or branch glob, checked for emptiness and control characters."""
    if not text.strip():
        raise ValueError("empty glob")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise ValueError(f"glob {text!r} contains a control character")
    return text


def matches_any(name: str, globs: Iterable[str]) -> bool:
    """Whether ``name`` matches one of ``globs`` (case-sensitive :func:`fnmatch`)."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in globs)


def changed_file_matches(changed: str, globs: Iterable[str]) -> bool:
    """Whether a changed repository file matches one of the ``when`` globs."""
    relative = changed.lstrip("/")
    return any(fnmatch.fnmatchcase(relative, pattern.lstrip("/")) for pattern in globs)
