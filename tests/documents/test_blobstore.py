"""The local content-addressed blob store: atomic, deduplicated, streaming, and closed to path tricks."""
from __future__ import annotations

import hashlib
import io
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from meetings.documents import blobstore
from meetings.documents.blobstore import CHUNK, BlobNotFound, BlobStore, InvalidBlobId, LocalBlobStore

CONTENT = ("Biên bản kỳ họp thứ nhất — Hội đồng nhân dân\n" * 5000).encode("utf-8")
SHA = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def stored_files(store: LocalBlobStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file() and store.incoming not in p.parents)


def leftovers(store: LocalBlobStore) -> list[Path]:
    return list(store.incoming.iterdir())


class ChunkedReader(io.RawIOBase):
    """A file object that records how it is read and can fail, or run a check, part-way through."""

    def __init__(self, data: bytes, *, fail_after: int | None = None, on_read=None) -> None:
        self.data, self.position, self.sizes = data, 0, []
        self.fail_after, self.on_read = fail_after, on_read

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.sizes.append(size)
        if self.on_read:
            self.on_read()
        if self.fail_after is not None and self.position >= self.fail_after:
            raise ConnectionResetError("client went away mid-upload")
        end = len(self.data) if size < 0 else self.position + size
        chunk, self.position = self.data[self.position:end], min(end, len(self.data))
        return chunk


def test_put_names_the_blob_by_its_sha256_in_fan_out_directories(store):
    assert isinstance(store, BlobStore)
    assert store.put(CONTENT) == SHA
    assert stored_files(store) == [store.root / SHA[:2] / SHA[2:4] / SHA]
    assert store.path(SHA) == store.root / SHA[:2] / SHA[2:4] / SHA
    with store.open(SHA) as handle:
        assert handle.read() == CONTENT
    assert store.exists(SHA) and store.size(SHA) == len(CONTENT)
    assert stat.S_IMODE(store.path(SHA).stat().st_mode) == 0o640
    assert leftovers(store) == []


def test_put_accepts_a_path_and_a_file_object(store, tmp_path):
    source = tmp_path / "upload.pdf"
    source.write_bytes(CONTENT)
    assert store.put(source) == store.put(str(source)) == store.put(io.BytesIO(CONTENT)) == SHA
    assert len(stored_files(store)) == 1


def test_large_sources_are_hashed_and_copied_in_chunks(store):
    data = os.urandom(5 * CHUNK + 123)
    reader = ChunkedReader(data)
    assert store.put(reader) == hashlib.sha256(data).hexdigest()
    assert set(reader.sizes) == {CHUNK}  # never read() of everything at once
    assert len(reader.sizes) == 7  # six chunks and the empty read that ends the loop


def test_same_content_is_stored_once_and_not_rewritten(store, tmp_path):
    store.put(CONTENT)
    before = store.path(SHA).stat()
    source = tmp_path / "again.pdf"
    source.write_bytes(CONTENT)
    assert store.put(source) == SHA
    after = store.path(SHA).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert len(stored_files(store)) == 1 and leftovers(store) == []


def test_a_source_failing_midway_leaves_nothing_behind(store):
    reader = ChunkedReader(CONTENT * 20, fail_after=2 * CHUNK)
    with pytest.raises(ConnectionResetError):
        store.put(reader)
    assert stored_files(store) == [] and leftovers(store) == []
    assert not store.exists(hashlib.sha256(CONTENT * 20).hexdigest())


def test_the_final_name_never_shows_a_partial_file_while_writing(store):
    data = CONTENT * 20
    sha = hashlib.sha256(data).hexdigest()
    seen = []
    reader = ChunkedReader(data, on_read=lambda: seen.append(store.exists(sha)))
    store.put(reader)
    assert len(seen) > 2 and not any(seen)  # absent during every read…
    with store.open(sha) as handle:
        assert handle.read() == data  # …and complete afterwards


def test_a_failing_fsync_leaves_nothing_behind(store, monkeypatch):
    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(blobstore.os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        store.put(CONTENT)
    assert stored_files(store) == [] and leftovers(store) == []


def test_concurrent_puts_of_the_same_content_store_one_complete_blob(store):
    data = os.urandom(4 * CHUNK)
    expected = hashlib.sha256(data).hexdigest()
    barrier = threading.Barrier(8)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(store.put(data))
        except BaseException as error:  # noqa: BLE001 — reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and results == [expected] * 8
    assert stored_files(store) == [store.path(expected)] and leftovers(store) == []
    with store.open(expected) as handle:
        assert handle.read() == data


@pytest.mark.parametrize("bad", [
    "../" * 21 + "a", "../../../../etc/passwd", "/etc/passwd", SHA.upper(), SHA[:63], SHA + "0", SHA + "\n",
    SHA[:62] + "/.", "", None, SHA.encode(),
])
@pytest.mark.parametrize("method", ["open", "path", "exists", "size"])
def test_anything_but_a_lowercase_sha256_is_refused(store, bad, method):
    with pytest.raises(InvalidBlobId):
        getattr(store, method)(bad)


def test_unknown_blobs(store):
    missing = "0" * 64
    assert not store.exists(missing)
    for method in (store.open, store.path, store.size):
        with pytest.raises(BlobNotFound):
            method(missing)


def test_clean_incoming_removes_only_old_leftovers(store):
    old, fresh = store.incoming / "put-old", store.incoming / "put-fresh"
    old.write_bytes(b"half a file")
    fresh.write_bytes(b"being written")
    an_hour_ago = time.time() - 3700
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert store.clean_incoming() == 1
    assert leftovers(store) == [fresh]
