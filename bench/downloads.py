"""Do file downloads starve the tablets' sockets? Embedded gevent server against nginx + X-Accel-Redirect.

    .venv/bin/python bench/downloads.py [--tablets 20] [--downloaders 32] [--size-mb 20] [--actions 30]
                                        [--rounds 3] [--client-rate-mb 3.5] [--no-nginx] [--keep]

Loads the demo into a fresh SQLite DATA_DIR, uploads a ~20 MB PDF as the secretary (checked and signed like
any upload), starts the meeting, and connects N Socket.IO tablets (python-socketio, as the live tests do).
Then, on the embedded server (``python -m meetings serve``) and again on a BEHIND_NGINX=1 worker behind the
shipped deploy/nginx.conf (tests/fixtures/nginx.py), it measures:

* broadcasts: the chair moves the current agenda item (PUT /agenda/current) K times; for each, the time from
  just before the PUT is sent until each tablet receives ``agenda.current`` (the payload's ``at`` has only
  whole seconds, so the clock is the bench's own), with no downloads, then while D clients download the
  file over and over as fast as loopback allows (the CPUs saturate), then at a rate per client that adds up
  to about what a server's 1 Gbit/s link carries;
* throughput: D clients download the file R times each at once: aggregate MB/s, per-download time, and the
  CPU time the worker (and nginx) spent on it.

Downloads run in a child process (this script with --download-worker) so they do not compete with the
tablets for this process's GIL. Figures only, no targets; everything stays on 127.0.0.1, every loop is
bounded, and the servers are stopped by pid on exit.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from meetings.documents.textpdf import make_pdf  # noqa: E402
from tests.fixtures.live_server import ServerProcess  # noqa: E402
from tests.fixtures.nginx import NginxProcess  # noqa: E402
from tests.realtime.clients import Tablet, login  # noqa: E402

MB = 1024 * 1024
DELEGATES = ("daibieu1", "daibieu2", "daibieu3", "daibieu4")
WORKER_DEADLINE_S = 600  # a download worker never outlives this, whatever happens to its parent


# --- the download worker (child process) -----------------------------------------------------------------

def download_worker(url: str, token: str, clients: int, rounds: int, rate_mb: float) -> None:
    """``clients`` threads, one keep-alive connection each, download ``url`` ``rounds`` times (0: until stdin
    closes), each at most ``rate_mb`` MB/s (0: as fast as loopback goes). Prints "ready" once every client has
    its first response, then one JSON line of results."""
    parts = urlsplit(url)
    stop = threading.Event()
    ready = threading.Barrier(clients + 1, timeout=120)  # broken (and we exit) if a client fails first
    results: list[tuple[float, int, int, bool]] = []  # seconds, bytes, status, complete
    lock = threading.Lock()

    def client() -> None:
        # Throttled, a client reads small pieces and sleeps: TCP back-pressure then slows the server's
        # sending as a slower network would.
        buf = bytearray(64 * 1024 if rate_mb else MB)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        first = True
        done = 0
        deadline = time.monotonic() + WORKER_DEADLINE_S
        while not stop.is_set() and time.monotonic() < deadline and (rounds == 0 or done < rounds):
            start = time.perf_counter()
            conn.request("GET", parts.path, headers={"Authorization": f"Bearer {token}"})
            resp = conn.getresponse()
            if first:
                first = False
                ready.wait()
            received, complete = 0, True
            while n := resp.readinto(buf):  # into one reused buffer: the bytes only cross the kernel
                received += n
                if rate_mb:
                    ahead = received / (rate_mb * MB) - (time.perf_counter() - start)
                    if ahead > 0:
                        time.sleep(ahead)
                if stop.is_set():
                    complete = False
                    break
            if not complete:
                conn.close()  # mid-body: the connection cannot be reused
            with lock:
                results.append((time.perf_counter() - start, received, resp.status, complete))
            done += 1
        conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    started = time.perf_counter()
    print("ready", flush=True)
    if rounds == 0:
        sys.stdin.read()  # the parent closes our stdin to stop us
        stop.set()
    for t in threads:
        t.join(WORKER_DEADLINE_S)
    print(json.dumps({"wall": time.perf_counter() - started, "results": results}), flush=True)


class Downloads:
    """The child process that downloads; ``with Downloads(...)`` runs it until the block ends."""

    def __init__(self, url: str, token: str, clients: int, rounds: int = 0, rate_mb: float = 0):
        cmd = [sys.executable, __file__, "--download-worker", url, token, str(clients), str(rounds), str(rate_mb)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.proc.kill()
            raise RuntimeError(f"the download worker did not start: {line!r}")
        self.summary: dict = {}

    def finish(self, timeout: float = WORKER_DEADLINE_S) -> dict:
        try:
            out, _err = self.proc.communicate(timeout=timeout)  # closes stdin: a continuous run stops
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self.summary = json.loads(out.strip().splitlines()[-1])
        return self.summary

    def __enter__(self) -> Downloads:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.finish()


# --- tablets and broadcasts -------------------------------------------------------------------------------

class TimedTablet(Tablet):
    """A tablet that notes when each ``agenda.current`` arrives (perf_counter, this process's clock)."""

    def __init__(self, base: str, token: str):
        self.arrivals: list[tuple[int, float]] = []  # (seq, arrival), in order of arrival
        super().__init__(base, token)

    def _record(self, event: str, data: dict) -> None:
        if event == "agenda.current":
            self.arrivals.append((data["seq"], time.perf_counter()))
        super()._record(event, data)

    def last_seq(self) -> int:
        return self.arrivals[-1][0] if self.arrivals else 0

    def arrival_after(self, seq: int) -> float | None:
        return next((t for s, t in self.arrivals if s > seq), None)


@dataclass
class Broadcasts:
    label: str
    delivery_ms: list[float] = field(default_factory=list)  # every tablet, every action
    put_ms: list[float] = field(default_factory=list)
    lost: int = 0
    downloaded_mb: float = 0.0


def move_current_item(base: str, chair: requests.Session, tablets: list[TimedTablet], item_ids: list[int],
                      actions: int, label: str, warmup: int = 3) -> Broadcasts:
    """K moves of the current item, one at a time: each waits until every tablet has its event (≤ 30 s)."""
    out = Broadcasts(label)
    for i in range(warmup + actions):
        seen = [tab.last_seq() for tab in tablets]  # this move's event is the first agenda.current after these
        start = time.perf_counter()
        resp = chair.put(f"{base}/api/v1/meetings/1/agenda/current", json={"item_id": item_ids[i % 2]}, timeout=60)
        put = time.perf_counter() - start
        resp.raise_for_status()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(tab.arrival_after(s) is None for tab, s in zip(tablets, seen)):
            time.sleep(0.002)
        if i < warmup:
            continue
        out.put_ms.append(put * 1000)
        for tab, s in zip(tablets, seen):
            arrival = tab.arrival_after(s)
            if arrival is None:
                out.lost += 1
            else:
                out.delivery_ms.append((arrival - start) * 1000)
        time.sleep(0.1)
    return out


# --- set-up -----------------------------------------------------------------------------------------------

def big_pdf(size_mb: int) -> bytes:
    # One page and an incompressible image stream: intake and signing keep it about this size.
    return make_pdf([["Tài liệu lớn – đo tải xuống"]], padding_bytes=size_mb * MB)


def upload(base: str, token: str, data: bytes) -> dict:
    resp = requests.post(f"{base}/api/v1/meetings/1/documents", headers={"Authorization": f"Bearer {token}"},
                         files={"file": ("tai-lieu-lon.pdf", data, "application/pdf")},
                         data={"title": "Tài liệu lớn"}, timeout=600)
    if resp.status_code != 201:
        raise RuntimeError(f"upload refused: {resp.status_code} {resp.text[:300]}")
    return resp.json()


def check_bytes(url: str, token: str, sha: str) -> None:
    """One download verified against the document's sha256 (the load runs skip hashing: it costs CPU)."""
    resp = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    if resp.status_code != 200 or hashlib.sha256(resp.content).hexdigest() != sha or resp.headers["ETag"] != f'"{sha}"':
        raise RuntimeError(f"{url}: wrong answer ({resp.status_code}, ETag {resp.headers.get('ETag')})")


@dataclass
class Throughput:
    label: str
    mb_per_s: float
    p50_s: float
    p99_s: float
    downloads: int
    failed: int
    cpu_s: dict[str, float]  # CPU seconds the server side spent, by process


def cpu_seconds(pid: int) -> float:
    """user + system CPU of a process and its direct children (nginx's workers), from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(stat.parent.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def throughput(label: str, url: str, token: str, clients: int, rounds: int, size: int,
               servers: dict[str, int]) -> Throughput:
    before = {name: cpu_seconds(pid) for name, pid in servers.items()}
    summary = Downloads(url, token, clients, rounds).finish()
    cpu = {name: cpu_seconds(pid) - before[name] for name, pid in servers.items()}
    results = summary["results"]
    ok = [r for r in results if r[2] == 200 and r[3] and r[1] == size]
    times = sorted(r[0] for r in ok)
    return Throughput(label, sum(r[1] for r in ok) / MB / summary["wall"], percentile(times, 50),
                      percentile(times, 99), len(ok), len(results) - len(ok), cpu)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * p / 100) - 1))]


def run_tier(label: str, base: str, file_path: str, size: int, sha: str, tokens: dict[str, str],
             item_ids: list[int], servers: dict[str, int], args) -> tuple[list[Broadcasts], Throughput]:
    url = base + file_path
    check_bytes(url, tokens["daibieu1"], sha)
    chair = requests.Session()
    chair.headers["Authorization"] = f"Bearer {tokens['chutoa']}"
    tablets: list[TimedTablet] = []
    found: list[Broadcasts] = []
    try:
        for i in range(args.tablets):
            tablet = TimedTablet(base, tokens[DELEGATES[i % len(DELEGATES)]])
            tablets.append(tablet)
            tablet.call("join", {"meeting_id": 1})
        found.append(move_current_item(base, chair, tablets, item_ids, args.actions, f"{label}: no downloads"))
        # Flat out over loopback the downloads saturate the CPUs (a contest for CPU more than for the worker's
        # event loop); at a network's rate they are mostly sockets waiting to be written.
        for rate_mb, how in ((0.0, "flat out"), (args.client_rate_mb, f"at {args.client_rate_mb:g} MB/s")):
            with Downloads(url, tokens["daibieu1"], args.downloaders, rate_mb=rate_mb) as downloads:
                busy = move_current_item(base, chair, tablets, item_ids, args.actions,
                                         f"{label}: {args.downloaders} dl {how}")
            busy.downloaded_mb = sum(r[1] for r in downloads.summary["results"]) / MB
            found.append(busy)
    finally:
        # Together: each close waits ~3 s for a WebSocket close reply the gevent server never sends.
        with ThreadPoolExecutor(max(1, len(tablets))) as pool:
            list(pool.map(Tablet.close, tablets))
    rate = throughput(label, url, tokens["daibieu1"], args.downloaders, args.rounds, size, servers)
    return found, rate


def print_tables(broadcasts: list[Broadcasts], rates: list[Throughput], args, size: int) -> None:
    print(f"\nBroadcasts: the chair PUTs /agenda/current {args.actions} times, {args.tablets} tablets; "
          "ms from just before the PUT to agenda.current on each tablet")
    print(f"{'':<44} {'p50':>7} {'p99':>7} {'max':>7} {'PUT p50':>8} {'PUT max':>8} {'lost':>5} {'MB sent':>8}")
    for b in broadcasts:
        d = b.delivery_ms
        print(f"{b.label:<44} {percentile(d, 50):7.1f} {percentile(d, 99):7.1f} {max(d, default=float('nan')):7.1f} "
              f"{percentile(b.put_ms, 50):8.1f} {max(b.put_ms, default=float('nan')):8.1f} {b.lost:5d} "
              f"{b.downloaded_mb:8.0f}")
    print(f"\nThroughput: {args.downloaders} clients download the {size / MB:.1f} MB PDF {args.rounds} times each, "
          "all at once, flat out")
    print(f"{'':<44} {'MB/s':>7} {'p50 s':>7} {'p99 s':>7} {'done':>5} {'failed':>6}  server CPU s")
    for r in rates:
        cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in r.cpu_s.items())
        print(f"{r.label:<44} {r.mb_per_s:7.0f} {r.p50_s:7.2f} {r.p99_s:7.2f} {r.downloads:5d} {r.failed:6d}  {cpu}")
    print(f"\n{os.cpu_count()} CPUs shared by the server, nginx, the tablets and the downloaders; loopback only.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tablets", type=int, default=20)
    parser.add_argument("--downloaders", type=int, default=32)
    parser.add_argument("--size-mb", type=int, default=20)
    parser.add_argument("--actions", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3, help="downloads per client in the throughput run")
    parser.add_argument("--client-rate-mb", type=float, default=3.5,
                        help="per-client rate of the throttled run (32 × 3.5 MB/s ≈ a saturated 1 Gbit/s link)")
    parser.add_argument("--no-nginx", action="store_true", help="measure the embedded server only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="phonghop-downloads-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "BEHIND_NGINX")}
    env.update({"DATA_DIR": str(tmp / "data"), "SECRET_KEY": "bench", "PYTHONUNBUFFERED": "1"})
    broadcasts: list[Broadcasts] = []
    rates: list[Throughput] = []
    try:
        for cmd in (["db", "upgrade"], ["seed-demo"]):
            subprocess.run([sys.executable, "-m", "flask", "--app", "meetings", *cmd], cwd=ROOT, env=env, check=True,
                           capture_output=True)
        embedded = ServerProcess(env, tmp / "embedded.log")
        try:
            tokens = {u: login(embedded.url, u) for u in ("thuky", "chutoa", *DELEGATES)}
            start = time.perf_counter()
            doc = upload(embedded.url, tokens["thuky"], big_pdf(args.size_mb))
            size, sha = doc["current"]["size"], doc["current"]["sha256"]
            print(f"uploaded a {size / MB:.1f} MB signed PDF in {time.perf_counter() - start:.1f} s")
            resp = requests.post(f"{embedded.url}/api/v1/meetings/1/transitions", json={"action": "start"},
                                 headers={"Authorization": f"Bearer {tokens['chutoa']}"}, timeout=60)
            resp.raise_for_status()
            agenda = requests.get(f"{embedded.url}/api/v1/meetings/1/agenda", timeout=60,
                                  headers={"Authorization": f"Bearer {tokens['chutoa']}"}).json()
            item_ids = [item["id"] for item in agenda["items"]][:2]
            found, rate = run_tier("embedded", embedded.url, doc["file_url"], size, sha, tokens, item_ids,
                                   {"worker": embedded.proc.pid}, args)
            broadcasts += found
            rates.append(rate)
        finally:
            embedded.stop()
        if not args.no_nginx:
            # The same DATA_DIR and database: a worker as production runs it, with nginx sending the files.
            worker = ServerProcess({**env, "BEHIND_NGINX": "1"}, tmp / "worker.log")
            try:
                nginx = NginxProcess([f"127.0.0.1:{worker.port}"], tmp / "data" / "blobs", tmp / "nginx")
                try:
                    found, rate = run_tier("nginx X-Accel", nginx.url, doc["file_url"], size, sha, tokens, item_ids,
                                           {"worker": worker.proc.pid, "nginx": nginx.proc.pid}, args)
                    broadcasts += found
                    rates.append(rate)
                finally:
                    nginx.stop()
            finally:
                worker.stop()
        print_tables(broadcasts, rates, args, size)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "--download-worker":
        download_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]))
    else:
        main()
