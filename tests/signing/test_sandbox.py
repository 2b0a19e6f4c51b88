"""The verification sandbox: how a worker's exit becomes a report, and what the worker may see.

Most tests here swap the worker for a few lines of Python, so they cost a process start, not a pyHanko import.
The real worker's hostile-file cases run through the endpoint (test_verify_api.py).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import typing
from pathlib import Path

import pytest

from meetings.signing import _verify_worker as worker
from meetings.signing import pki, sandbox
from meetings.signing.sandbox import CRASHED, TOO_COMPLEX, SandboxError, VerifyLimits, verify_untrusted
from meetings.signing.verify import Coverage, Modification, Verdict

ROOT = Path(__file__).resolve().parents[2]
NO_CORE = "import resource\nresource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
GOOD_REPORT = {"verdict": "unsigned", "signatures": [], "unsigned_fields": [], "removed_signatures": [],
               "problems": [], "summary": "The document is not signed."}


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "input.pdf"
    path.write_bytes(b"%PDF-1.7\n%%EOF\n")  # never parsed: the fake workers do not look at it
    return path


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    path = tmp_path / "scratch"
    path.mkdir()
    yield path
    assert list(path.iterdir()) == [], "the worker's scratch directory was left behind"


@pytest.fixture
def fake_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def install(body: str) -> None:
        path = tmp_path / "fake_worker.py"
        path.write_text(body)
        monkeypatch.setattr(sandbox, "WORKER", path)
    return install


def _prints(outcome: object) -> str:
    return f"import sys\nsys.stdout.write({json.dumps(json.dumps(outcome))})\n"


def test_the_report_schema_names_what_the_verifier_says():
    assert set(typing.get_args(sandbox.VerdictName)) == {v.value for v in Verdict}
    assert set(typing.get_args(sandbox.CoverageName)) == {c.value for c in Coverage}
    assert set(typing.get_args(sandbox.ModificationName)) == {m.value for m in Modification}
    assert set(worker.ABORTED_KINDS) < set(typing.get_args(sandbox.AbortedKind)) == set(sandbox.MESSAGES)
    assert sandbox.MAX_REPORT == worker.MAX_OUTPUT


def test_default_limits():
    limits = VerifyLimits()
    assert (limits.memory_bytes, limits.cpu_seconds, limits.wall_seconds) == (768 * 1024 * 1024, 20, 30.0)


@pytest.mark.parametrize("field", ["memory_bytes", "cpu_seconds", "wall_seconds", "open_files", "output_bytes"])
def test_limits_must_be_positive(field):
    with pytest.raises(ValueError, match=field):
        VerifyLimits(**{field: 0})


def test_a_good_report_passes_through(fake_worker, pdf, scratch):
    fake_worker(_prints({"report": GOOD_REPORT}))
    assert verify_untrusted(pdf, [], scratch_dir=scratch) == {**GOOD_REPORT, "aborted": None}


@pytest.mark.parametrize("body, kind", [
    (NO_CORE + "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", "crash"),
    (NO_CORE + "import os, signal\nos.kill(os.getpid(), signal.SIGXCPU)\n", "cpu"),
    (f"import os\nos._exit({sandbox.EXIT_MEMORY})\n", "memory"),
    (_prints({"aborted": "depth"}), "depth"),
    (_prints({"aborted": "encrypted"}), "encrypted"),
], ids=["crash", "cpu", "memory", "depth", "encrypted"])
def test_what_stops_the_check_becomes_an_invalid_report(fake_worker, pdf, scratch, body, kind):
    fake_worker(body)
    report = verify_untrusted(pdf, [], scratch_dir=scratch)
    message = CRASHED if kind == "crash" else sandbox.MESSAGES[kind]
    assert report == {"verdict": "invalid", "signatures": [], "unsigned_fields": [], "removed_signatures": [],
                      "problems": [message], "summary": message, "aborted": kind}


def _gone(pid: int) -> bool:
    """Dead: no such process, or a zombie waiting for a parent that no longer exists to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_wall_clock_limit_kills_the_worker_and_what_it_started(fake_worker, pdf, scratch, tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    fake_worker("import subprocess, time\n"
                "child = subprocess.Popen(['sleep', '60'])\n"
                f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
                "time.sleep(60)\n")
    started = time.monotonic()
    report = verify_untrusted(pdf, [], limits=VerifyLimits(wall_seconds=1.0), scratch_dir=scratch)
    assert (report["verdict"], report["aborted"], report["summary"]) == ("invalid", "time", TOO_COMPLEX)
    assert time.monotonic() - started < 5
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(grandchild)


@pytest.mark.parametrize("body", [
    "import sys\nsys.exit(3)\n",
    f"import sys\nsys.exit({sandbox.EXIT_SETUP_MEMORY})\n",
    "print('not json')\n",
    _prints({"report": {**GOOD_REPORT, "verdict": "fine"}}),
    _prints({"report": {**GOOD_REPORT, "extra": 1}}),
    _prints({"report": {**GOOD_REPORT, "problems": "none"}}),
    _prints({"report": {**GOOD_REPORT, "signatures": [{"field": "x"}]}}),
    _prints({"aborted": "patience"}),
    _prints({}),
    _prints({"report": GOOD_REPORT, "aborted": "depth"}),
    _prints({"report": {**GOOD_REPORT, "summary": "x" * (1024 * 1024)}}),
], ids=["exit-status", "setup-memory", "not-json", "unknown-verdict", "unknown-key", "bad-type", "bad-signature",
        "unknown-abort", "neither", "both", "oversized"])
def test_a_failing_or_confused_worker_is_an_error_not_a_verdict(fake_worker, pdf, scratch, body):
    fake_worker(body)
    with pytest.raises(SandboxError):
        verify_untrusted(pdf, [], scratch_dir=scratch)


def test_the_worker_runs_isolated_without_the_servers_secrets(fake_worker, pdf, scratch, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "server-secret")
    monkeypatch.setenv("ORG_P12_PASSPHRASE", "p12-secret")
    fake_worker("import json, os, sys\n"
                "roots = open(sys.argv[2]).read() if sys.argv[2] else ''\n"
                "seen = {'argv': sys.argv[1:], 'env': sorted(os.environ), 'flags': sys.flags.isolated,\n"
                "        'roots': roots.count('BEGIN CERTIFICATE'), 'fds': sorted(map(int, os.listdir('/proc/self/fd')))}\n"
                "report = {'verdict': 'unsigned', 'signatures': [], 'unsigned_fields': [], 'removed_signatures': [],\n"
                "          'problems': [], 'summary': json.dumps(seen)}\n"
                "sys.stdout.write(json.dumps({'report': report}))\n")
    roots = pki.create_test_pki("Tổ chức thử").trust_roots
    seen = json.loads(verify_untrusted(pdf, roots, limits=VerifyLimits(cpu_seconds=7), scratch_dir=scratch)["summary"])
    source, roots_path, limits = seen["argv"]
    assert source == str(pdf.absolute()) and Path(roots_path).parent.parent == scratch
    assert json.loads(limits)["cpu_seconds"] == 7 and seen["roots"] == len(roots)
    assert seen["flags"] == 1 and not {"SECRET_KEY", "ORG_P12_PASSPHRASE"} & set(seen["env"])
    assert seen["fds"] == [0, 1, 2, 3]  # the standard three, and listdir's own: nothing of the server's

    fake_worker(_prints({"report": GOOD_REPORT}).replace("import sys", "import sys\nassert sys.argv[2] == ''"))
    assert verify_untrusted(pdf, [], scratch_dir=scratch)["aborted"] is None  # no roots: an empty argument


def test_the_worker_is_limited_before_it_loads_pyhanko(scratch, pdf):
    """The real worker, loaded as the sandbox starts it: limits applied, no ``meetings`` package, no Flask."""
    code = ("import resource, runpy, sys\n"
            f"ns = runpy.run_path({str(ROOT / 'meetings/signing/_verify_worker.py')!r})\n"
            "ns['load_limits']().apply_limits({'memory_bytes': 768 << 20, 'cpu_seconds': 20,\n"
            "                                  'output_bytes': 1 << 20, 'open_files': 64})\n"
            "verify = ns['load_verifier']()\n"
            "print(resource.getrlimit(resource.RLIMIT_AS)[0] >> 20, hasattr(verify, 'verify_pdf'),\n"
            "      sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('meetings', 'flask', 'sqlalchemy')))\n")
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=scratch, env={"PATH": os.defpath})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["768", "True", "[]"]


def test_importing_the_sandbox_loads_no_pdf_parser():
    code = ("import sys, meetings.signing.sandbox; "
            "print(sorted(m for m in ('pyhanko', 'pikepdf', 'pypdf', 'meetings.signing.verify') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


# -- the worker's own judgement, without a process -------------------------------------------------------

def _invalid(*problems: str, signature_problems: tuple[str, ...] = ()) -> dict:
    signatures = [{"problems": list(signature_problems)}] if signature_problems else []
    return {"verdict": "invalid", "signatures": signatures, "problems": list(problems)}


@pytest.mark.parametrize("report, kind", [
    (_invalid("The file is not a readable PDF (MemoryError)."), "memory"),
    (_invalid("The file is not a readable PDF (PdfDecodeLimitError)."), "memory"),
    (_invalid("The file is not a readable PDF (RecursionError)."), "depth"),
    (_invalid(signature_problems=("the signature could not be checked: MemoryError",)), "memory"),
    (_invalid(signature_problems=("the signature could not be checked: maximum recursion depth exceeded",)), "depth"),
    (_invalid("The file is not a readable PDF (PdfReadError)."), None),
    ({**_invalid("MemoryError"), "verdict": "valid_but_untrusted"}, None),  # only an "invalid" is relabelled
])
def test_the_worker_recognises_a_verifier_that_ran_out_of_room(report, kind):
    assert worker.exhausted(report) == kind


def test_the_worker_writes_utf8_and_keeps_its_report_small():
    assert json.loads(worker.encode({"report": {"summary": "Hòa Bình \udc80"}})) == {
        "report": {"summary": "Hòa Bình ?"}}
    assert worker.encode({"report": {"summary": "x" * worker.MAX_OUTPUT}}) == b'{"aborted": "output"}'
