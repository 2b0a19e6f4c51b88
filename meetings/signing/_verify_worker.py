"""The verification worker: checks the signatures of one untrusted PDF under resource limits.

Started by ``sandbox.verify_untrusted`` as ``python -I <this file> INPUT ROOTS_PEM LIMITS_JSON`` (ROOTS_PEM may
be an empty string: no trusted roots). Like the intake worker it runs by file path in isolated mode and
imports nothing from the ``meetings`` package, which would load Flask and SQLAlchemy into every worker: its
two siblings, ``documents/_worker.py`` (the limits) and ``verify.py`` (the verifier), import only the
standard library and pyHanko/cryptography/asn1crypto, so they are loaded by path.

Protocol: exit status 0 and one JSON object on stdout, UTF-8, at most MAX_OUTPUT bytes: either
``{"report": VerificationReport.to_dict()}`` or ``{"aborted": KIND}`` when the file is encrypted or the check
hit a limit inside the process (KIND in ABORTED_KINDS). Running out of memory outside the verifier exits with EXIT_MEMORY; the CPU
limit kills the process with SIGXCPU/SIGKILL. EXIT_SETUP_MEMORY means the verifier could not even be loaded
under the memory limit (a configuration error, not a property of the file). Any other status means the
worker itself failed.
"""
from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

EXIT_SETUP_MEMORY = 87
# Must match sandbox.MAX_REPORT: a report is small unless the file is built to make it big.
MAX_OUTPUT = 1024 * 1024
ABORTED_KINDS = ("encrypted", "memory", "depth", "output")

# verify_pdf turns every exception into an "invalid" report, including the ones that mean "this file needs
# more than we allow": MemoryError under RLIMIT_AS, RecursionError on deeply nested objects, and pyHanko's own
# refusal to inflate a stream beyond its decode limit. They are recognised by the exception's name in the
# problem text (verify.py writes "(MemoryError)" or "could not be checked: MemoryError"). Only a report that
# is already "invalid" is ever relabelled, so a file that fakes these words gains nothing.
_EXHAUSTED = (
    (re.compile(r"\bMemoryError\b|\bPdfDecodeLimitError\b"), "memory"),
    (re.compile(r"\bRecursionError\b|maximum recursion depth exceeded"), "depth"),
)

_HERE = Path(__file__).resolve().parent


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


def load_limits() -> ModuleType:
    """``documents/_worker.py``, for ``apply_limits`` and ``EXIT_MEMORY``: standard library only."""
    if __package__:
        from meetings.documents import _worker
        return _worker
    return _load("phonghop_intake_worker", _HERE.parent / "documents" / "_worker.py")


def load_verifier() -> ModuleType:
    """``verify.py`` (pyHanko and all), imported after the limits are applied so its allocations count."""
    if __package__:
        from meetings.signing import verify
        return verify
    return _load("phonghop_verify", _HERE / "verify.py")


def load_roots(path: str) -> list[Any]:
    if not path:
        return []
    from cryptography import x509

    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificates(handle.read())


def exhausted(report: dict[str, Any]) -> str | None:
    """The limit an "invalid" report says the verifier ran into, if any."""
    if report.get("verdict") != "invalid":
        return None
    texts = [*report.get("problems", []), *(p for sig in report.get("signatures", []) for p in sig["problems"])]
    for pattern, kind in _EXHAUSTED:
        if any(pattern.search(text) for text in texts):
            return kind
    return None


def encrypted(data: bytes, verify: ModuleType) -> bool:
    """Whether the file is encrypted: verify_pdf would report the signatures it cannot see as "unsigned"."""
    try:
        return bool(verify.PdfFileReader(io.BytesIO(data)).encrypted)
    except (MemoryError, RecursionError):
        raise
    except Exception:  # noqa: BLE001 — unreadable: verify_pdf says so in its own words
        return False


def check(source: str, roots: list[Any], verify: ModuleType) -> dict[str, Any]:
    with open(source, "rb") as handle:
        data = handle.read()
    try:
        if encrypted(data, verify):
            return {"aborted": "encrypted"}
        report = verify.verify_pdf(data, trust_roots=roots).to_dict()
    except RecursionError:  # verify_pdf catches everything it expects; this escaped its own handlers
        return {"aborted": "depth"}
    del data
    kind = exhausted(report)
    return {"aborted": kind} if kind else {"report": report}


def encode(outcome: dict[str, Any]) -> bytes:
    # "replace": text decoded from the file may hold lone surrogates, which are not UTF-8 (nor valid JSON
    # for a strict reader).
    output = json.dumps(outcome, ensure_ascii=False).encode("utf-8", "replace")
    if len(output) > MAX_OUTPUT:  # thousands of signature fields, or megabytes of names: too much to report
        output = json.dumps({"aborted": "output"}).encode()
    return output


def run(argv: list[str]) -> int:
    limits_module = load_limits()
    if len(argv) != 3:
        print("usage: _verify_worker.py INPUT ROOTS_PEM LIMITS_JSON", file=sys.stderr)
        return limits_module.EXIT_USAGE
    source, roots_path, limits_json = argv
    limits_module.apply_limits(json.loads(limits_json))
    try:
        verify = load_verifier()
        roots = load_roots(roots_path)
    except MemoryError:
        os._exit(EXIT_SETUP_MEMORY)
    # An ImportError above is not caught: a broken installation must fail loudly, not call every file invalid.
    try:
        output = encode(check(source, roots, verify))
    except MemoryError:
        os._exit(limits_module.EXIT_MEMORY)  # no clean-up: anything that allocates may fail again now
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
