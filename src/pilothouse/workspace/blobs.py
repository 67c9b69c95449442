"""Content-addressed blob storage.

A version's bytes are stored once under their SHA-256, however many versions,
files or workspaces share them. Writes are atomic: bytes stream into a temporary
file in the same filesystem, are fsynced, and are renamed into place, so a crash
leaves either the whole blob or nothing; because the name is the hash, two writers
racing on the same content both succeed and agree.

Blobs are written *before* the database transaction that references them. A blob
whose transaction then fails is an orphan, which :meth:`DirectoryBlobStore.collect`
removes once it is older than a grace period; ``put`` of existing content refreshes
the blob's mtime so a blob about to be referenced again is never collected under a
writer's feet.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from pilothouse.workspace.errors import NotFound, TooLarge

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int


class BlobStore(Protocol):
    """Where version bytes live; the database holds only their digests."""

    def put(self, data: bytes) -> StoredBlob: ...

    def put_stream(self, chunks: Iterable[bytes], *, max_bytes: int) -> StoredBlob:
        """Store a stream; raises :class:`TooLarge` past ``max_bytes`` (storing nothing)."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """A binary file positioned at 0; raises :class:`NotFound`."""
        ...

    def read(self, sha256: str) -> bytes: ...

    def exists(self, sha256: str) -> bool: ...

    def collect(self, referenced: set[str], *, grace_seconds: float) -> int:
        """Delete unreferenced blobs older than the grace period; returns how many."""
        ...


class DirectoryBlobStore:
    """Blobs as files under ``root/ab/cd/<sha256>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise NotFound(f"no blob {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> StoredBlob:
        return self.put_stream([data], max_bytes=max(len(data), 1))

    def put_stream(self, chunks: Iterable[bytes], *, max_bytes: int) -> StoredBlob:
        hasher = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(
                            f"content exceeds the limit of {max_bytes} bytes",
                            details={"limit": max_bytes},
                        )
                    hasher.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = hasher.hexdigest()
            final = self._path(sha)
            if final.exists():
                os.utime(final)
                return StoredBlob(sha, size)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, final)
            _fsync_dir(final.parent)
            return StoredBlob(sha, size)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self._path(sha256).open("rb")
        except FileNotFoundError:
            raise NotFound(f"blob {sha256} is missing from the store") from None

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as f:
            return f.read()

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()

    def _all(self) -> Iterator[Path]:
        for first in self.root.iterdir():
            if first == self._tmp or not first.is_dir():
                continue
            for second in first.iterdir():
                yield from second.iterdir()

    def collect(self, referenced: set[str], *, grace_seconds: float) -> int:
        cutoff = time.time() - grace_seconds
        removed = 0
        for blob in self._all():
            if blob.name in referenced:
                continue
            with contextlib.suppress(FileNotFoundError):
                if blob.stat().st_mtime <= cutoff:
                    blob.unlink()
                    removed += 1
        for stale in self._tmp.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if stale.stat().st_mtime <= cutoff:
                    stale.unlink()
        return removed


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
