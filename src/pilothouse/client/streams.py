"""File bodies in both directions without holding them in memory.

Uploads: whole ``bytes`` go out with a ``Content-Length`` (so the server can refuse
an oversized body before it arrives); an iterable goes out chunk by chunk with
chunked transfer encoding, as it is produced.

Downloads: :func:`download` turns an open streaming response into the same
``BinaryIO`` that :meth:`WorkspaceService.open_file` hands out, so code that reads a
stream does not care which side of the network it is on. While it streams it
counts and hashes the bytes, and at the end checks them against the version's size
and sha256: a download that was cut short or altered fails with
:class:`~pilothouse.client.errors.ClientError` instead of returning wrong bytes.
Closing the stream closes the response and returns its connection to the pool.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO

import httpx

from pilothouse.client import errors

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["CHUNK", "download", "upload"]

CHUNK = 1024 * 1024
"""Read-buffer size of a download stream, in bytes (1 MiB, the server's chunk size)."""


def upload(content: bytes | Iterable[bytes]) -> bytes | Iterator[bytes]:
    """A request body for ``content``: bytes as they are, an iterable as a stream."""
    if isinstance(content, (bytes, bytearray, memoryview)):
        return bytes(content)
    return _chunks(content)


def _chunks(content: Iterable[bytes]) -> Iterator[bytes]:
    for chunk in content:
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"file content chunks must be bytes, not {type(chunk).__name__}")
        if chunk:
            yield bytes(chunk)


class _ResponseReader(io.RawIOBase):
    def __init__(self, response: httpx.Response, *, size: int, sha256: str, base_url: str):
        self._response = response
        self._chunks = response.iter_bytes()
        self._pending = b""
        self._seen = 0
        self._digest = hashlib.sha256()
        self._size = size
        self._sha256 = sha256
        self._base_url = base_url

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._pending:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._check_complete()
                return 0
            except httpx.HTTPError as e:
                raise errors.from_transport(e, self._base_url) from e
            self._seen += len(chunk)
            self._digest.update(chunk)
            self._pending = chunk
        view = memoryview(buffer).cast("B")
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def _check_complete(self) -> None:
        where = f"GET {self._response.request.url.copy_with(query=None)}"
        if self._seen != self._size:
            raise errors.ClientError(
                f"{where} ended after {self._seen} of {self._size} bytes",
                details={"received": self._seen, "size": self._size},
            )
        if self._digest.hexdigest() != self._sha256:
            raise errors.ClientError(
                f"{where} delivered bytes whose sha256 is not the version's {self._sha256}",
                details={"received_sha256": self._digest.hexdigest()},
            )

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()


def download(response: httpx.Response, *, size: int, sha256: str, base_url: str) -> BinaryIO:
    """A buffered, checked stream over an open response's body; closing it closes both."""
    raw = _ResponseReader(response, size=size, sha256=sha256, base_url=base_url)
    return io.BufferedReader(raw, buffer_size=CHUNK)
