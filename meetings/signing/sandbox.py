"""Verify the signatures of an untrusted PDF in a separate, resource-limited process.

``verify.verify_pdf`` never raises on a hostile file, but pyHanko still has to parse it: a file built to
exhaust memory, CPU or the stack would take the server process down with it. So, like the upload intake
(``documents/intake.py``), the check runs in ``_verify_worker.py``, a fresh ``python -I`` child in its own
session with an empty environment, rlimits on address space, CPU time, file size and open files, and a
wall-clock limit enforced here. Every outcome that is a property of the file — including hitting a limit or
crashing the parser — becomes a report with the verdict "invalid"; only a broken installation raises.

Deliberately free of Flask and of pyHanko: importing this module loads no PDF parser. Messages are English
msgids; the web layer translates them.
"""
from __future__ import annotations

import json
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel, ConfigDict, ValidationError

from meetings.documents._worker import EXIT_MEMORY
from meetings.documents.intake import MAGIC, MESSAGES as INTAKE_MESSAGES, N_, Reason, _file_ends, _tail, \
    run_limited
from meetings.signing._verify_worker import EXIT_SETUP_MEMORY, MAX_OUTPUT

MiB = 1024 * 1024
WORKER = Path(__file__).with_name("_verify_worker.py")
# The worker keeps its output under this size (it reports "output" instead): more means it is not our worker.
MAX_REPORT = MAX_OUTPUT

TOO_COMPLEX = N_("The file is too complex to check within the server's limits, so its signatures cannot be "
                 "confirmed.")
CRASHED = N_("The file made the signature checker fail, so its signatures cannot be confirmed.")
MESSAGES = {"encrypted": INTAKE_MESSAGES[Reason.ENCRYPTED], "memory": TOO_COMPLEX, "cpu": TOO_COMPLEX, "time": TOO_COMPLEX, "depth": TOO_COMPLEX,
            "output": TOO_COMPLEX, "crash": CRASHED}

# verify.py's enums as plain strings (importing them would load pyHanko here).
VerdictName = Literal["valid", "valid_but_untrusted", "modified_after_signing", "invalid", "unsigned"]
CoverageName = Literal["entire_document", "entire_revision", "partial"]
ModificationName = Literal["none", "form_filling", "annotations", "other"]
AbortedKind = Literal["encrypted", "memory", "cpu", "time", "depth", "output", "crash"]


class SandboxError(RuntimeError):
    """The verification machinery itself failed (not the file): a broken installation or a worker bug."""


@dataclass(frozen=True)
class VerifyLimits:
    """Bounds for one verification. Memory is address space (RLIMIT_AS), so it includes the interpreter and
    pyHanko (~150 MB) and the file itself, which the verifier reads whole."""

    memory_bytes: int = 768 * MiB
    cpu_seconds: int = 20
    wall_seconds: float = 30.0
    open_files: int = 64
    # The worker writes no file; this bounds its stderr (a traceback) in the scratch directory.
    output_bytes: int = MiB

    def __post_init__(self) -> None:
        for name in ("memory_bytes", "cpu_seconds", "wall_seconds", "open_files", "output_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"VerifyLimits.{name} must be positive")

    def for_worker(self) -> dict[str, int]:
        return {"memory_bytes": self.memory_bytes, "cpu_seconds": self.cpu_seconds,
                "output_bytes": self.output_bytes, "open_files": self.open_files}


DEFAULT_LIMITS = VerifyLimits()


# -- the report, validated strictly: it was produced next to a hostile file -------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SignatureReportOut(_Strict):
    field: str
    kind: Literal["signature", "document_timestamp"]
    signer_common_name: str | None
    signer_organisation: str | None
    signer_subject: str | None
    signing_time: str | None
    timestamp_time: str | None
    intact: bool
    valid: bool
    trusted: bool
    coverage: CoverageName | None
    modification: ModificationName | None
    docmdp_ok: bool | None
    verdict: VerdictName
    problems: list[str]
    summary: str


class VerificationReportOut(_Strict):
    verdict: VerdictName
    signatures: list[SignatureReportOut]
    unsigned_fields: list[str]
    removed_signatures: list[str]
    problems: list[str]
    summary: str


class _WorkerOutput(_Strict):
    report: VerificationReportOut | None = None
    aborted: Literal["encrypted", "memory", "depth", "output"] | None = None


# -- running the worker ---------------------------------------------------------------------------------

def looks_like_pdf(path: Path) -> bool:
    """The intake's byte check: ``%PDF-`` within the first 1024 bytes."""
    head, _tail_bytes = _file_ends(path, path.stat().st_size)
    return MAGIC in head


def verify_untrusted(path: Path, trust_roots: list[x509.Certificate], *, limits: VerifyLimits = DEFAULT_LIMITS,
                     scratch_dir: Path | None = None) -> dict[str, Any]:
    """The signature report of the file at ``path`` (``VerificationReport.to_dict()`` plus ``aborted``).

    ``aborted`` is None when the check ran to its end, else why it could not (``encrypted``, or a limit:
    ``memory``, ``cpu``, ``time``, ``depth``, ``output``, or ``crash``); the verdict is then "invalid" and
    ``summary`` an English msgid.
    Raises SandboxError only when the machinery is broken.
    """
    source = Path(path).absolute()  # the worker runs in the scratch directory
    base = Path(scratch_dir if scratch_dir is not None else tempfile.gettempdir()).absolute()
    with tempfile.TemporaryDirectory(prefix="phonghop-verify-", dir=base) as scratch_name:
        scratch = Path(scratch_name)
        roots = ""
        if trust_roots:
            roots_file = scratch / "roots.pem"
            roots_file.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in trust_roots))
            roots = str(roots_file)
        returncode, timed_out, output = _run_worker(source, roots, scratch, limits)
        return _outcome(returncode, timed_out, output, _tail(scratch / "stderr.txt"))


def _run_worker(source: Path, roots: str, scratch: Path, limits: VerifyLimits) -> tuple[int, bool, bytes]:
    command = [sys.executable, "-I", str(WORKER), str(source), roots, json.dumps(limits.for_worker())]
    return run_limited(command, scratch, limits.wall_seconds)


def _outcome(returncode: int, timed_out: bool, output: bytes, stderr: str) -> dict[str, Any]:
    """Turn the worker's exit into a report; exits that say nothing about the file raise SandboxError."""
    if timed_out:
        return aborted_report("time")
    if returncode == EXIT_MEMORY:
        return aborted_report("memory")
    # SIGXCPU at the soft CPU limit, SIGKILL at the hard one (the parent only kills on time-out, above).
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return aborted_report("cpu")
    if returncode == -signal.SIGXFSZ:
        return aborted_report("output")
    if returncode < 0:  # the parser crashed on this file (e.g. SIGSEGV): a property of the file
        return aborted_report("crash")
    if returncode == EXIT_SETUP_MEMORY:
        raise SandboxError("the verification worker cannot load pyHanko within its memory limit")
    if returncode != 0:
        raise SandboxError(f"verification worker exited with status {returncode}: {stderr.strip()[-500:]}")
    parsed = _parse(output)
    if parsed.aborted is not None:
        return aborted_report(parsed.aborted)
    return {**parsed.report.model_dump(), "aborted": None}


def _parse(output: bytes) -> _WorkerOutput:
    if len(output) > MAX_REPORT:
        raise SandboxError("verification worker returned an oversized report")
    try:
        parsed = _WorkerOutput.model_validate_json(output)
    except ValidationError as err:
        raise SandboxError(f"verification worker returned a bad report: {err.error_count()} error(s)") from None
    if (parsed.report is None) == (parsed.aborted is None):
        raise SandboxError("verification worker returned neither a report nor a reason to stop, or both")
    return parsed


def aborted_report(kind: AbortedKind) -> dict[str, Any]:
    """What a check that did not finish says: nothing is confirmed, so the file cannot be trusted."""
    message = MESSAGES[kind]
    return {"verdict": "invalid", "signatures": [], "unsigned_fields": [], "removed_signatures": [],
            "problems": [message], "summary": message, "aborted": kind}
