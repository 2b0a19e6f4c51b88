"""Content-addressed storage of document files: a blob's name is the sha256 of its bytes.

Identical uploads are stored once, a stored blob never changes (so its sha256 is also a strong ETag), and
the database only keeps the hex digest.

``BlobStore`` is the interface the rest of the application uses. ``LocalBlobStore`` keeps blobs under a
directory (``DATA_DIR/blobs`` in the embedded tier). An S3-compatible store would implement the same
interface like this — no code for it exists yet:

* ``put``: stream the source to a temporary key (``incoming/<uuid>``) with a multipart upload while hashing
  it, then ``CopyObject`` it to ``blobs/ab/cd/<sha256>`` with ``If-None-Match: *`` (or a ``HeadObject``
  check first) and delete the temporary key. An object only becomes visible once its upload completes, so
  readers never see a partial blob, and a lifecycle rule expires abandoned ``incoming/`` keys. Sending
  ``x-amz-checksum-sha256`` lets the server verify the bytes too.
* ``open``: ``GetObject`` and return its streaming body (ranged ``GetObject`` for partial reads).
* ``path``: returns ``None`` — there is no local file. Serving then uses a short-lived presigned URL, or
  nginx ``X-Accel-Redirect`` to an internal location that proxies the bucket.
* ``exists`` / ``size``: ``HeadObject`` (404 → False / ``BlobNotFound``; ``ContentLength``).

Pure module: no Flask, no database.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, BinaryIO

CHUNK = 1024 * 1024
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
INCOMING = ".incoming"

Source = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO


class InvalidBlobId(ValueError):
    """Not a sha256 in lowercase hex: refused before it can become part of a path."""


class BlobNotFound(KeyError):
    pass


def check_sha(sha: str) -> str:
    if not isinstance(sha, str) or SHA256_HEX.fullmatch(sha) is None:
        raise InvalidBlobId(f"not a lowercase sha256 hex digest: {sha!r}")
    return sha


class BlobStore(ABC):
    """Where document files live. Blobs are immutable; there is deliberately no delete (versions keep them)."""

    @abstractmethod
    def put(self, source: Source) -> str:
        """Store bytes, a file path or a binary file object; return the sha256 hex digest. Idempotent."""

    @abstractmethod
    def open(self, sha: str) -> BinaryIO:
        """A binary file positioned at the start of the blob. Raises BlobNotFound."""

    def read(self, sha: str) -> bytes:
        """The whole blob (for PDFs the signing and verifying code needs in memory). Raises BlobNotFound."""
        with self.open(sha) as fh:
            return fh.read()

    @abstractmethod
    def path(self, sha: str) -> Path | None:
        """The blob's file on local disk (for X-Accel-Redirect and ranged serving), None if not local."""

    @abstractmethod
    def exists(self, sha: str) -> bool: ...

    @abstractmethod
    def size(self, sha: str) -> int:
        """Size in bytes. Raises BlobNotFound."""


class LocalBlobStore(BlobStore):
    """Blobs as files ``root/ab/cd/abcd…`` (two fan-out levels keep directories small).

    Writes go to ``root/.incoming`` first: the final directory depends on the hash, which is only known
    once the whole source has been read, and a staging directory on the same filesystem keeps the final
    ``os.replace`` atomic. A blob is therefore either absent or complete under its name, never partial.
    """

    def __init__(self, root: str | os.PathLike[str], *, file_mode: int = 0o640) -> None:
        # 0o640: nginx reads blobs for X-Accel-Redirect through the group; other local users get nothing.
        self.root = Path(root).absolute()
        self.file_mode = file_mode
        self.incoming = self.root / INCOMING
        self.incoming.mkdir(parents=True, exist_ok=True)

    def put(self, source: Source) -> str:
        handle, temp_name = tempfile.mkstemp(dir=self.incoming, prefix="put-")
        temp = Path(temp_name)
        try:
            with os.fdopen(handle, "wb") as out:
                digest = _copy_hashing(source, out)
                out.flush()
                os.fsync(out.fileno())
            final = self._file(digest)
            if final.exists():
                return digest  # deduplicated: the same bytes are already stored under this name
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(temp, self.file_mode)
            # Two puts of the same content may race to here; both files are complete and identical, so
            # whichever replace lands last is as good as the first.
            os.replace(temp, final)
            _fsync_dir(final.parent)
            return digest
        finally:
            temp.unlink(missing_ok=True)

    def open(self, sha: str) -> BinaryIO:
        try:
            return open(self._file(sha), "rb")
        except FileNotFoundError:
            raise BlobNotFound(sha) from None

    def path(self, sha: str) -> Path:
        final = self._file(sha)
        if not final.is_file():
            raise BlobNotFound(sha)
        return final

    def exists(self, sha: str) -> bool:
        return self._file(sha).is_file()

    def size(self, sha: str) -> int:
        try:
            return self._file(sha).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(sha) from None

    def clean_incoming(self, older_than_seconds: float = 3600) -> int:
        """Remove temporary files a crash left behind; returns how many. Young files may be puts in progress."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        for leftover in self.incoming.glob("put-*"):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed

    def _file(self, sha: str) -> Path:
        check_sha(sha)
        return self.root / sha[:2] / sha[2:4] / sha


def _copy_hashing(source: Source, out: BinaryIO) -> str:
    """Copy the source into ``out`` in chunks while hashing it: a 100 MB upload is never held in memory."""
    digest = hashlib.sha256()
    if isinstance(source, (bytes, bytearray, memoryview)):
        digest.update(source)
        out.write(source)
        return digest.hexdigest()
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            return _copy_stream(handle, out, digest)
    return _copy_stream(source, out, digest)


def _copy_stream(handle: BinaryIO, out: BinaryIO, digest: Any) -> str:
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        out.write(chunk)
    return digest.hexdigest()


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable: without this a power cut can lose a blob the database refers to."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
