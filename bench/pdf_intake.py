"""What the untrusted-PDF intake costs: spawn + inspect + sanitize in a limited worker process.

Generates a 1-page, a 100-page, a 2000-page (the default page limit) and a ~20 MB PDF, runs each through
``inspect_pdf`` several times and prints the median, next to the same check done in this process (what
the worker does, without the process) and to bare interpreter start-up, so the price of the isolation is
visible. Usage:

    .venv/bin/python bench/pdf_intake.py [--runs 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pikepdf  # noqa: E402

from meetings.documents import _worker  # noqa: E402
from meetings.documents.intake import DEFAULT_LIMITS, inspect_pdf  # noqa: E402
from tests.documents.corpus import save, text_pdf  # noqa: E402


def big_pdf(path: Path, megabytes: int) -> Path:
    """Ten text pages and a photo-like (incompressible) image on page one, ``megabytes`` in all."""
    pdf = text_pdf(10)
    width = 2000
    height = megabytes * 1024 * 1024 // (3 * width)
    image = pikepdf.Stream(pdf, b"")
    image.write(zlib.compress(os.urandom(3 * width * height), 1), filter=pikepdf.Name.FlateDecode)
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = width, height, 8
    image.ColorSpace = pikepdf.Name.DeviceRGB
    page = pdf.pages[0]
    page.Resources.XObject = pikepdf.Dictionary(Im1=image)
    page.Contents = pikepdf.Array([page.Contents, pdf.make_stream(b"q 400 0 0 600 100 100 cm /Im1 Do Q")])
    return save(pdf, path)


def median_seconds(action: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def in_process(path: Path, target: Path) -> None:
    """The worker's own work, minus the process: open, check, sanitize, save."""
    pikepdf_module, sanitize = _worker.load_libraries()
    verdict = _worker.inspect(str(path), str(target), DEFAULT_LIMITS.for_worker(), pikepdf_module, sanitize)
    assert verdict["reason"] is None, verdict


def intake(path: Path, out: Path) -> None:
    result = inspect_pdf(path, output_dir=out)
    assert result.ok, result
    result.discard()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as scratch_name:
        scratch = Path(scratch_name)
        files = {
            "1 page": save(text_pdf(1), scratch / "one.pdf"),
            "100 pages": save(text_pdf(100), scratch / "hundred.pdf"),
            "2000 pages": save(text_pdf(2000), scratch / "two-thousand.pdf"),
            "20 MB": big_pdf(scratch / "twenty.pdf", 20),
        }
        bare = median_seconds(lambda: subprocess.run([sys.executable, "-I", "-c", "pass"], check=True), runs)
        with_pikepdf = median_seconds(
            lambda: subprocess.run([sys.executable, "-I", "-c", "import pikepdf"], check=True), runs)
        print(f"runs per figure: {runs} (median)")
        print(f"python -I start-up: {bare * 1000:7.1f} ms; with 'import pikepdf': {with_pikepdf * 1000:7.1f} ms")
        print(f"{'file':<11} {'size':>9} {'intake (subprocess)':>20} {'same work in-process':>21} {'overhead':>9}")
        for label, path in files.items():
            separate = median_seconds(lambda p=path: intake(p, scratch), runs)
            inline = median_seconds(lambda p=path: in_process(p, scratch / "inline.pdf"), runs)
            size = f"{path.stat().st_size / 1024 / 1024:.2f} MB"
            print(f"{label:<11} {size:>9} {separate * 1000:17.1f} ms {inline * 1000:18.1f} ms "
                  f"{(separate - inline) * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
