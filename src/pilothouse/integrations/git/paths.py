"""Paths inside a commit's tree, checked before they reach libgit2.

A mirror has no work tree, so a path can never touch the file system; the checks
are about meaning, not escape. ``manifests/../../etc/passwd`` names nothing in a
tree, but silently normalising it would let an agent write somewhere other than
where a reviewer reads it said, and libgit2 happily stores odd names (``a//b``,
``.git/config``) that break every checkout afterwards. So paths are refused, not
repaired: relative, ``/``-separated, no empty, ``.`` or ``..`` components, no
``.git`` component, no backslashes or control characters.
"""

from __future__ import annotations

from pilothouse.integrations.git.errors import InvalidArgument

__all__ = ["MAX_PATH_LENGTH", "clean_path", "clean_prefix"]

MAX_PATH_LENGTH = 4096
"""Longest path accepted, in characters (git itself allows about this much)."""


def clean_path(path: str) -> str:
    """``path`` itself if it names a file or folder inside a tree.

    Raises :class:`InvalidArgument` for absolute paths, ``..``/``.``/empty
    components, a ``.git`` component, backslashes and control characters.
    """
    if not isinstance(path, str) or not path:
        raise InvalidArgument("a path must be a non-empty string")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidArgument(f"the path is longer than {MAX_PATH_LENGTH} characters")
    if path.startswith("/"):
        raise InvalidArgument("absolute paths are not allowed", details={"path": path})
    if "\\" in path or any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        raise InvalidArgument(
            "paths may not contain backslashes or control characters", details={"path": path}
        )
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise InvalidArgument(
                "paths may not contain empty, '.' or '..' components", details={"path": path}
            )
        if part.lower() == ".git":
            raise InvalidArgument("paths may not contain a .git component", details={"path": path})
    return path


def clean_prefix(prefix: str) -> str:
    """A folder prefix for listings: ``""`` for the root, else a clean path.

    One trailing ``/`` is tolerated (``manifests/`` means ``manifests``).
    """
    if prefix in ("", "/"):
        return ""
    return clean_path(prefix.removesuffix("/"))
