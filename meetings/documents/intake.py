"""Intake of untrusted PDFs: byte checks here, parsing and sanitizing in a separate, resource-limited process.

The server process never parses an uploaded file. It looks at bytes only (size, the ``%PDF-`` magic, the
``%%EOF`` marker) and hashes them; everything that needs a PDF parser runs in ``_worker.py``, a fresh
``python -I`` child with its own session (so the whole process group can be killed), no inherited file
descriptors, an empty environment and rlimits on address space, CPU time, file size and open files. The
parent adds a wall-clock limit. A fresh interpreter is used rather than ``multiprocessing``: forking a
gevent server would copy its hub, sockets and database connections into the child.

Deliberately free of Flask and the database, and of pikepdf: importing this module must not load a parser.
Messages are English msgids with ``%(name)s`` placeholders; the web layer translates them.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from meetings.documents._worker import EXIT_MEMORY

MiB = 1024 * 1024
WORKER = Path(__file__).with_name("_worker.py")
MAGIC = b"%PDF-"
EOF_MARKER = b"%%EOF"
# Both windows follow the PDF reference's implementation notes: readers accept the header within the first
# 1024 bytes and the %%EOF marker within the last 1024.
HEAD_WINDOW = 1024
TAIL_WINDOW = 1024
CHUNK = MiB
# The worker's report is small by construction; anything bigger means it is not our worker talking.
MAX_REPORT = MiB


class Reason(StrEnum):
    NOT_PDF = "not_pdf"
    ENCRYPTED = "encrypted"
    MALFORMED = "malformed"
    TOO_MANY_PAGES = "too_many_pages"
    LIMITS_EXCEEDED = "limits_exceeded"
    TOO_LARGE = "too_large"


def N_(msgid: str) -> str:
    """Marks a message for translation; the web layer translates it with its values."""
    return msgid


MESSAGES: dict[Reason, str] = {
    Reason.NOT_PDF: N_("The file is not a PDF document."),
    Reason.ENCRYPTED: N_("The PDF is encrypted or protected by a password. Remove the protection and upload "
                         "it again."),
    Reason.MALFORMED: N_("The PDF is damaged and cannot be read. Opening it and saving it again as PDF may "
                         "repair it."),
    Reason.TOO_MANY_PAGES: N_("The PDF has %(pages)s pages; at most %(max_pages)s are allowed."),
    Reason.LIMITS_EXCEEDED: N_("Checking the PDF needed more memory or time than allowed. The file may be "
                               "damaged; try saving it again as PDF."),
    Reason.TOO_LARGE: N_("The file is larger than %(max_mb)s MB."),
}
INCOMPLETE_MESSAGE = N_("The PDF is incomplete; the upload may have been cut off.")
LIMIT_KINDS = ("memory", "cpu", "time", "output")


class IntakeError(RuntimeError):
    """The intake machinery itself failed (not the file): a broken installation or a worker bug."""


@dataclass(frozen=True)
class IntakeLimits:
    """Bounds for one intake. Memory is address space (RLIMIT_AS), so it includes the interpreter (~40 MB)."""

    max_bytes: int = 100 * MiB
    max_pages: int = 2000
    memory_bytes: int = 1024 * MiB
    cpu_seconds: int = 20
    wall_seconds: float = 30.0
    # Room for the sanitized copy (and the worker's stderr); None means twice max_bytes.
    output_bytes: int | None = None
    open_files: int = 64
    # Accept files whose cross-reference table qpdf had to rebuild by scanning. Off: what comes back is a
    # guess (a cut-off upload with a forged end marker returns with blank pages), and the body signs it.
    allow_repair: bool = False

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pages", "memory_bytes", "cpu_seconds", "wall_seconds", "open_files"):
            if getattr(self, name) <= 0:
                raise ValueError(f"IntakeLimits.{name} must be positive")
        if self.output_bytes is not None and self.output_bytes <= 0:
            raise ValueError("IntakeLimits.output_bytes must be positive")

    def for_worker(self) -> dict[str, int | bool]:
        return {"max_pages": self.max_pages, "memory_bytes": self.memory_bytes, "cpu_seconds": self.cpu_seconds,
                "output_bytes": self.output_bytes or 2 * self.max_bytes, "open_files": self.open_files,
                "allow_repair": self.allow_repair}


DEFAULT_LIMITS = IntakeLimits()


@dataclass(frozen=True)
class Removal:
    kind: str
    where: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "where": self.where}


@dataclass(frozen=True)
class IntakeResult:
    """The verdict on one file. When ``ok``, ``sanitized_path`` belongs to the caller (move or delete it)."""

    ok: bool
    reason: Reason | None
    size: int
    sha256: str | None
    message: str = ""
    message_args: Mapping[str, int | str] = field(default_factory=dict)
    pages: int | None = None
    pdf_version: str | None = None
    title: str | None = None
    sanitized_path: Path | None = None
    sanitized_sha256: str | None = None
    sanitized_size: int | None = None
    removed: tuple[Removal, ...] = ()
    removed_total: int = 0
    limit: str | None = None
    warnings: tuple[str, ...] = ()
    diagnostic: str = ""
    seconds: float = 0.0

    @property
    def detail(self) -> str:
        """The English message with its values filled in (the web layer translates ``message`` instead)."""
        return self.message % dict(self.message_args) if self.message_args else self.message

    def discard(self) -> None:
        if self.sanitized_path is not None:
            self.sanitized_path.unlink(missing_ok=True)


def inspect_pdf(data: bytes | str | os.PathLike[str], *, limits: IntakeLimits = DEFAULT_LIMITS,
                output_dir: str | os.PathLike[str] | None = None) -> IntakeResult:
    """Check an uploaded file and produce a sanitized copy in ``output_dir`` (default: the temp dir)."""
    started = time.monotonic()
    # Absolute: the worker runs in the scratch directory, where relative paths would point elsewhere.
    base = Path(output_dir if output_dir is not None else tempfile.gettempdir()).absolute()
    source = None if isinstance(data, (bytes, bytearray)) else Path(data).absolute()
    size = len(data) if source is None else source.stat().st_size
    if size > limits.max_bytes:  # before reading anything: the size alone decides
        return _refused(Reason.TOO_LARGE, size, None, started, args={"max_mb": limits.max_bytes // MiB})
    if source is None:
        head, tail, digest = bytes(data[:HEAD_WINDOW]), bytes(data[-TAIL_WINDOW:]), hashlib.sha256(data).hexdigest()
    else:
        head, tail = _file_ends(source, size)
        digest = _file_sha256(source)
    if MAGIC not in head:
        return _refused(Reason.NOT_PDF, size, digest, started)
    if EOF_MARKER not in tail:
        return _refused(Reason.MALFORMED, size, digest, started, message=INCOMPLETE_MESSAGE,
                        diagnostic="no %%EOF in the last 1024 bytes")
    with tempfile.TemporaryDirectory(prefix="phonghop-intake-", dir=base) as scratch_name:
        scratch = Path(scratch_name)
        if source is None:
            source = scratch / "input.pdf"
            source.write_bytes(data)
        verdict = _run_worker(source, scratch / "output.pdf", scratch, limits)
        return _result(verdict, scratch / "output.pdf", base, size, digest, limits, started)


def _file_ends(source: Path, size: int) -> tuple[bytes, bytes]:
    with open(source, "rb") as handle:
        head = handle.read(HEAD_WINDOW)
        handle.seek(max(0, size - TAIL_WINDOW))
        return head, handle.read(TAIL_WINDOW)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- the worker process --------------------------------------------------------------------------------

def _run_worker(source: Path, target: Path, scratch: Path, limits: IntakeLimits) -> dict[str, Any]:
    command = [sys.executable, "-I", str(WORKER), str(source), str(target), json.dumps(limits.for_worker())]
    returncode, timed_out, output = run_limited(command, scratch, limits.wall_seconds)
    return _verdict(returncode, timed_out, output, _tail(scratch / "stderr.txt"))


def run_limited(command: list[str], scratch: Path, wall_seconds: float) -> tuple[int, bool, bytes]:
    """Run a worker (``python -I …``) in ``scratch``: (exit status, timed out, stdout); stderr in stderr.txt.

    The intake and the signature checker (meetings.signing.sandbox) both run their untrusted parsing this way.
    """
    with open(scratch / "stderr.txt", "wb") as stderr:
        # start_new_session: the worker leads its own process group, so the kill below reaches anything it
        # started. close_fds (the default) keeps the server's sockets and database connections out of it.
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
                                   cwd=scratch, env=_child_env(), start_new_session=True, close_fds=True)
        try:
            output, _ = process.communicate(timeout=wall_seconds)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            output, _ = process.communicate()
            timed_out = True
        finally:
            _kill_group(process.pid)  # also on success and on interruption: leave nothing running
            process.wait()
    return process.returncode, timed_out, output


def _child_env() -> dict[str, str]:
    # The worker needs nothing from the server's environment and must not see its secrets
    # (SECRET_KEY, ORG_P12_PASSPHRASE, DATABASE_URL).
    return {"PATH": os.defpath, "LC_ALL": "C.UTF-8"}


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group may already be gone
        os.killpg(pid, signal.SIGKILL)


def _tail(path: Path, limit: int = 2000) -> str:
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - limit))
        return handle.read().decode("utf-8", "replace")


def _verdict(returncode: int, timed_out: bool, output: bytes, stderr: str) -> dict[str, Any]:
    """Turn the worker's exit into a verdict; exits that say nothing about the file raise IntakeError."""
    if timed_out:
        return {"reason": "limits_exceeded", "limit": "time"}
    if returncode == EXIT_MEMORY:
        return {"reason": "limits_exceeded", "limit": "memory"}
    # SIGXCPU at the soft CPU limit, SIGKILL at the hard one (the parent only kills on time-out, above).
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return {"reason": "limits_exceeded", "limit": "cpu"}
    if returncode == -signal.SIGXFSZ:
        return {"reason": "limits_exceeded", "limit": "output"}
    if returncode < 0:
        # The parser crashed on this file (e.g. SIGSEGV): a property of the file as far as users go.
        return {"reason": "malformed", "diagnostic": f"worker killed by {signal.Signals(-returncode).name}"}
    if returncode != 0:
        raise IntakeError(f"intake worker exited with status {returncode}: {stderr.strip()[-500:]}")
    return _parse_report(output)


def _parse_report(output: bytes) -> dict[str, Any]:
    """Validate the worker's JSON strictly: it was produced next to a hostile file."""
    try:
        report = json.loads(output[:MAX_REPORT]) if len(output) <= MAX_REPORT else None
    except ValueError:
        report = None
    if not isinstance(report, dict):
        raise IntakeError("intake worker returned no report")
    reason = report.get("reason")
    if reason is not None and reason not in {r.value for r in Reason}:
        raise IntakeError(f"intake worker returned an unknown reason {reason!r}")
    checks = {"pages": int, "version": str, "title": str, "diagnostic": str, "limit": str, "removed_total": int}
    for key, kind in checks.items():
        if report.get(key) is not None and not isinstance(report[key], kind):
            raise IntakeError(f"intake worker returned a bad {key!r}")
    if reason == Reason.LIMITS_EXCEEDED and report.get("limit") not in LIMIT_KINDS:
        raise IntakeError("intake worker returned limits_exceeded without a known limit")
    warnings = report.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(text, str) for text in warnings):
        raise IntakeError("intake worker returned bad warnings")
    report["removed"] = _parse_removals(report.get("removed", []))
    report["warnings"] = tuple(warnings)
    return report


def _parse_removals(items: Any) -> tuple[Removal, ...]:
    if not isinstance(items, list) or not all(
            isinstance(item, dict) and isinstance(item.get("kind"), str) and isinstance(item.get("where"), str)
            for item in items):
        raise IntakeError("intake worker returned a bad removal list")
    return tuple(Removal(item["kind"], item["where"]) for item in items)


# -- results -------------------------------------------------------------------------------------------

def _result(verdict: dict[str, Any], output: Path, base: Path, size: int, digest: str, limits: IntakeLimits,
            started: float) -> IntakeResult:
    reason = Reason(verdict["reason"]) if verdict.get("reason") else None
    if reason is not None:
        args = {"pages": verdict["pages"], "max_pages": limits.max_pages} if reason == Reason.TOO_MANY_PAGES else {}
        return _refused(reason, size, digest, started, args=args, pages=verdict.get("pages"),
                        limit=verdict.get("limit"), diagnostic=verdict.get("diagnostic") or "")
    if not output.is_file():
        raise IntakeError("intake worker reported success but wrote no file")
    final = base / f"phonghop-sanitized-{uuid.uuid4().hex}.pdf"
    shutil.move(output, final)  # same directory tree as the scratch dir, so normally a rename
    return IntakeResult(
        ok=True, reason=None, size=size, sha256=digest, pages=verdict["pages"], pdf_version=verdict.get("version"),
        title=verdict.get("title"), sanitized_path=final, sanitized_sha256=_file_sha256(final),
        sanitized_size=final.stat().st_size, removed=verdict["removed"],
        removed_total=verdict.get("removed_total") or len(verdict["removed"]), warnings=verdict["warnings"],
        seconds=time.monotonic() - started)


def _refused(reason: Reason, size: int, digest: str | None, started: float, *, message: str | None = None,
             args: Mapping[str, int | str] | None = None, pages: int | None = None, limit: str | None = None,
             diagnostic: str = "") -> IntakeResult:
    return IntakeResult(ok=False, reason=reason, size=size, sha256=digest, message=message or MESSAGES[reason],
                        message_args=dict(args or {}), pages=pages, limit=limit, diagnostic=diagnostic,
                        seconds=time.monotonic() - started)
