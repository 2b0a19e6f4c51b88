"""Throughput and latency of the real server (``python -m meetings serve``) for reads and writes.

Starts a fresh server on SQLite (or PostgreSQL with --database-url), loads the demo, then runs N concurrent
clients over loopback for a bounded number of requests: GET /api/v1/meetings (delegate) and
POST /api/v1/meetings/{id}/agenda (secretary, writes with audit + event). Prints requests/s and latency
percentiles. Usage:

    .venv/bin/python bench/api_load.py [--clients 20] [--requests 2000] [--database-url postgresql://…]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.fixtures.live_server import ServerProcess  # noqa: E402


def call(url: str, method: str = "GET", body: dict | None = None, token: str | None = None) -> tuple[int, float]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as err:
        status = err.code
    return status, time.perf_counter() - start


def login(base: str, username: str) -> str:
    req = urllib.request.Request(base + "/api/v1/auth/login", method="POST",
                                 data=json.dumps({"username": username, "password": "demo-2026"}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["token"]


def run(label: str, clients: int, n: int, fn) -> None:
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda i: fn(i), range(n)))
    elapsed = time.perf_counter() - start
    lat = sorted(r[1] * 1000 for r in results)
    errors = sum(1 for r in results if r[0] >= 400)
    print(f"{label:<34} {n / elapsed:8.0f} req/s   p50 {statistics.median(lat):6.1f} ms   "
          f"p95 {lat[int(len(lat) * .95) - 1]:6.1f} ms   p99 {lat[int(len(lat) * .99) - 1]:6.1f} ms   errors {errors}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update({"DATA_DIR": tmp, "SECRET_KEY": "bench"})
        if args.database_url:
            env["DATABASE_URL"] = args.database_url
        for cmd in (["db", "upgrade"], ["seed-demo"]):
            subprocess.run([sys.executable, "-m", "flask", "--app", "meetings", *cmd], cwd=ROOT, env=env, check=True,
                           capture_output=True)
        server = ServerProcess(env, Path(tmp) / "server.log")
        try:
            base = server.url
            delegate, secretary = login(base, "daibieu1"), login(base, "thuky")
            print(f"database: {args.database_url or 'SQLite (embedded tier)'}; {args.clients} concurrent clients")
            run("GET /meetings (delegate)", args.clients, args.requests,
                lambda i: call(base + "/api/v1/meetings", token=delegate))
            run("GET /meetings/1/agenda (delegate)", args.clients, args.requests,
                lambda i: call(base + "/api/v1/meetings/1/agenda", token=delegate))
            run("POST agenda item (secretary)", args.clients, args.requests // 4,
                lambda i: call(base + "/api/v1/meetings/2/agenda", "POST", {"title": f"Mục {i}"}, secretary))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
