"""The intake worker: opens one untrusted PDF under resource limits, checks it and writes a sanitized copy.

Started by ``intake.inspect_pdf`` as ``python -I <this file> INPUT OUTPUT LIMITS_JSON``. It is run by file
path in isolated mode, not with ``-m meetings.documents._worker``: importing the ``meetings`` package would
load Flask and SQLAlchemy into every worker (half a second each), and isolated mode ignores PYTHON*
variables from the server's environment. So it imports nothing from this package except its sibling
``sanitize.py``, loaded by path.

Protocol: one JSON object on stdout and exit status 0 for every verdict on the file (including
"malformed"). Running out of memory exits with EXIT_MEMORY; the CPU limit kills it with SIGXCPU/SIGKILL.
Any other status means the worker itself failed.
"""
from __future__ import annotations

import errno
import json
import os
import resource
import sys
from typing import Any

EXIT_MEMORY = 86
EXIT_USAGE = 64
MAX_WARNINGS = 20
MAX_TEXT = 500
# qpdf's words when a file's own cross-reference table is unusable and it rebuilds one by scanning the bytes.
REBUILT_XREF = "Attempting to reconstruct cross-reference table"


def apply_limits(limits: dict[str, int]) -> None:
    """Lower this process's limits before any third-party code touches the file."""
    _lower(resource.RLIMIT_CORE, 0)  # a crash on a hostile file must not leave a core dump of it behind
    _lower(resource.RLIMIT_AS, limits["memory_bytes"])
    # SIGXCPU at the soft limit; the hard limit one second later is SIGKILL in case SIGXCPU is caught.
    _lower(resource.RLIMIT_CPU, limits["cpu_seconds"], limits["cpu_seconds"] + 1)
    _lower(resource.RLIMIT_FSIZE, limits["output_bytes"])
    _lower(resource.RLIMIT_NOFILE, limits["open_files"])


def _lower(kind: int, soft: int, hard: int | None = None) -> None:
    """Set a limit, never above the current hard limit (an unprivileged process cannot raise it)."""
    _, current_hard = resource.getrlimit(kind)
    hard = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(kind, (soft, hard))


def load_libraries() -> tuple[Any, Any]:
    """pikepdf and the sanitizer, imported after apply_limits so their allocations count too."""
    import pikepdf

    if __package__:
        from meetings.documents import sanitize
    else:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import sanitize  # type: ignore[no-redef]
    return pikepdf, sanitize


def inspect(source: str, target: str, limits: dict[str, Any], pikepdf: Any, sanitize: Any) -> dict[str, Any]:
    """Check and sanitize one file; every outcome about the file is a returned verdict, not an exception."""
    try:
        pdf = pikepdf.open(source, suppress_warnings=True)
    except pikepdf.PasswordError:
        return {"reason": "encrypted"}
    except pikepdf.PdfError as error:
        return _finish(_malformed(f"open: {error}"), [], source, limits)
    with pdf:
        try:
            verdict = _examine(pdf, target, limits["max_pages"], pikepdf, sanitize)
        except (MemoryError, OSError):
            raise
        except Exception as error:  # noqa: BLE001 — any failure on a hostile file is a verdict on the file
            verdict = _malformed(f"{type(error).__name__}: {error}")
        warnings = [str(text) for text in pdf.get_warnings()]
    return _finish(verdict, warnings, source, limits)


def _examine(pdf: Any, target: str, max_pages: int, pikepdf: Any, sanitize: Any) -> dict[str, Any]:
    if pdf.is_encrypted:
        return {"reason": "encrypted"}  # opened with an empty user password: the content is still encrypted
    pages = len(pdf.pages)
    if pages == 0:
        return _malformed("the document has no pages")
    if pages > max_pages:
        return {"reason": "too_many_pages", "pages": pages}
    facts = {"pages": pages, "version": pdf.pdf_version, "title": _title(pdf, pikepdf)}
    log = sanitize.sanitize(pdf)
    pdf.save(target, **_save_options(pikepdf))
    return {"reason": None, **facts, "removed": log.items, "removed_total": log.total}


def _finish(verdict: dict[str, Any], warnings: list[str], source: str, limits: dict[str, Any]) -> dict[str, Any]:
    """Attach qpdf's warnings and let the worst of them overrule a success."""
    # qpdf catches std::bad_alloc while decoding a stream and carries on with the object missing: the
    # verdict must be the memory limit, not a document with silently dropped objects.
    if any("bad_alloc" in text for text in warnings + [verdict.get("diagnostic", "")]):
        return {"reason": "limits_exceeded", "limit": "memory"}
    # A rebuilt table is qpdf's guess at the document (a truncated file comes back with blank pages). The
    # body signs what it distributes, so by default a guess is refused rather than signed.
    if verdict.get("reason") is None and not limits["allow_repair"] and any(REBUILT_XREF in t for t in warnings):
        verdict = _malformed("the cross-reference table had to be rebuilt")
    # The input's path is the caller's business, not something to show or log with every warning.
    cleaned = [_short(text.replace(source, "input")) for text in warnings[:MAX_WARNINGS]]
    if verdict.get("reason") == "malformed":
        diagnostic = verdict["diagnostic"].replace(source, "input")
        verdict["diagnostic"] = _short("; ".join([diagnostic, *cleaned[:3]]))
    return {**verdict, "warnings": cleaned}


def _save_options(pikepdf: Any) -> dict[str, Any]:
    """Write without decoding any stream, so a compressed bomb is copied as it is and never inflated."""
    return {
        "stream_decode_level": pikepdf.StreamDecodeLevel.none,
        # Must be off: to compress a stream that is not plain /FlateDecode (say /ASCII85Decode over
        # /FlateDecode), qpdf decodes it whatever the decode level, and would inflate a bomb hidden in that
        # chain. The cost is that regenerated object streams are written uncompressed.
        "compress_streams": False,
        "recompress_flate": False,
        "fix_metadata_version": False,  # would parse the XMP stream, another hostile input
        "object_stream_mode": pikepdf.ObjectStreamMode.preserve,
        "deterministic_id": True,  # the same upload gives the same bytes, so the blob store dedups it
    }


def _title(pdf: Any, pikepdf: Any) -> str | None:
    """Title from the document information dictionary only: XMP would mean decoding a stream."""
    info = pdf.trailer.get("/Info")
    title = info.get("/Title") if isinstance(info, pikepdf.Dictionary) else None
    if not isinstance(title, pikepdf.String):
        return None
    text = "".join(ch for ch in str(title) if ch.isprintable()).strip()
    return text[:MAX_TEXT] or None


def _malformed(detail: str) -> dict[str, Any]:
    return {"reason": "malformed", "diagnostic": _short(detail)}


def _short(text: str) -> str:
    return str(text)[:MAX_TEXT]


def run(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: _worker.py INPUT OUTPUT LIMITS_JSON", file=sys.stderr)
        return EXIT_USAGE
    source, target, limits_json = argv
    limits = json.loads(limits_json)
    apply_limits(limits)
    try:
        libraries = load_libraries()
    except MemoryError:
        os._exit(EXIT_MEMORY)
    # An ImportError above is not caught: a broken installation must fail loudly, not call every file malformed.
    try:
        verdict = inspect(source, target, limits, *libraries)
    except MemoryError:
        os._exit(EXIT_MEMORY)  # no clean-up: anything that allocates may fail again now
    except OSError as error:
        verdict = _output_error(error)
    sys.stdout.write(json.dumps(verdict))
    sys.stdout.flush()
    return 0


def _output_error(error: OSError) -> dict[str, Any]:
    # Python ignores SIGXFSZ, so passing RLIMIT_FSIZE surfaces as EFBIG instead of killing the process.
    if error.errno == errno.EFBIG:
        return {"reason": "limits_exceeded", "limit": "output"}
    return _malformed(f"{type(error).__name__}: {error}")


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
