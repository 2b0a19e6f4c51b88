"""bench/fleet: N tablets follow the chair live — Phòng Họp against a minimal Node socket.io server.

    python bench/fleet/run.py --clients 500 --actions 30 [--database-url postgresql://user@127.0.0.1/postgres]

Prepares a fresh database (the demo plus N delegates with tokens, setup_db.py), starts the real server
(`python -m meetings serve`) on a free loopback port, starts the meeting, and runs the Node client fleet
(fleet.js) against it; then does the same against baseline-server.js. Prints one table with both and the
targets of issue 4. Only loopback addresses; every loop is bounded; the servers are stopped on exit, on
Ctrl-C and on error. See README.md beside this file for what each figure means.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENV_PY = ROOT / ".venv" / "bin" / "python"
PY = str(VENV_PY) if VENV_PY.exists() else sys.executable

TARGETS = {"p50": 25.0, "p99": 60.0, "ratio": 1.5, "rss_kb": 80.0, "storm_s": 5.0}


class Abort(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url: str, method: str = "GET", body: dict | None = None, token: str | None = None,
              timeout: float = 30) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        raise Abort(f"{method} {url} -> {err.code}: {err.read()[:300]!r}")


class Proc:
    """A server we started: stopped by its own pid (terminate, then kill)."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_path: Path, ready_url: str):
        self.name, self.log_path = name, log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Abort(f"{name} exited early:\n{log_path.read_text(errors='replace')[-3000:]}")
            try:
                urllib.request.urlopen(ready_url, timeout=2).read()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise Abort(f"{name} did not come up within 60 s:\n{log_path.read_text(errors='replace')[-3000:]}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if not self._log.closed:
            self._log.close()


def ensure_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise Abort("node (v18+) is required for the client fleet and the baseline server")
    if not (HERE / "node_modules" / "socket.io-client").exists() or not (HERE / "node_modules" / "socket.io").exists():
        print("installing bench/fleet/node_modules (npm ci) …", file=sys.stderr)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=300,
                       stdout=subprocess.DEVNULL)
    return node


def create_pg_database(admin_url: str) -> tuple[str, str]:
    """A fresh database on the server of ``admin_url`` (dropped at exit): (name, url for the app)."""
    name = f"phonghop_fleet_{uuid.uuid4().hex[:10]}"
    code = ("import sys, psycopg\n"
            "c = psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=5)\n"
            "c.execute(f'CREATE DATABASE \"{sys.argv[2]}\"')\n")
    subprocess.run([PY, "-c", code, _plain_pg(admin_url), name], check=True, timeout=60)
    app_url = admin_url.rsplit("/", 1)[0] + "/" + name if "/" in admin_url.split("://", 1)[1] else admin_url + "/" + name
    return name, app_url


def drop_pg_database(admin_url: str, name: str) -> None:
    code = ("import sys, psycopg\n"
            "c = psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=5)\n"
            "c.execute(f'DROP DATABASE IF EXISTS \"{sys.argv[2]}\" WITH (FORCE)')\n")
    subprocess.run([PY, "-c", code, _plain_pg(admin_url), name], check=False, timeout=60)


def _plain_pg(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores)."""
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    return (sum(f) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")


def wait_quiet(limit_s: float) -> None:
    """Wait (at most limit_s) until the other processes on this machine use under 15% of a core for 3 s."""
    if limit_s <= 0:
        return
    deadline = time.monotonic() + limit_s
    while True:
        b0, t0 = machine_busy(), time.monotonic()
        time.sleep(3)
        load = 100 * (machine_busy() - b0) / (time.monotonic() - t0)
        if load < 15:
            return
        if time.monotonic() > deadline:
            print(f"the machine is still busy ({load:.0f}% of a core); measuring anyway", file=sys.stderr)
            return
        print(f"waiting for a quiet machine (others use {load:.0f}% of a core) …", file=sys.stderr)


def run_fleet(node: str, label: str, url: str, pid: int, setup: dict, args, tmp: Path) -> dict:
    cfg = {
        "label": label, "url": url, "pid": pid, "clkTck": os.sysconf("SC_CLK_TCK"),
        "meetingId": setup["meeting_id"], "chairToken": setup["chair_token"], "tokens": setup["tokens"],
        "itemIds": setup["item_ids"], "actions": args.actions, "warmupActions": min(args.actions, 10),
        "gapMs": 100, "connectConcurrency": 25, "actionTimeoutMs": 10000, "quietMs": 3000,
        "stormWindowMs": int(args.storm_window * 1000), "stormIntervalMs": 200, "stormTimeoutMs": 30000,
        "resyncWaitMs": 15000, "deadlineS": 600, "clientDeflate": args.client_deflate == "on",
        "countPostgres": bool(args.database_url) and label == "ours",
    }
    cfg_path = tmp / f"fleet-{label}.json"
    cfg_path.write_text(json.dumps(cfg))
    wait_quiet(args.wait_quiet)
    proc = subprocess.run([node, str(HERE / "fleet.js"), str(cfg_path)], cwd=HERE, stdout=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, timeout=660)
    lines = proc.stdout.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise Abort(f"the fleet against {label} failed (exit {proc.returncode})")
    return json.loads(lines[-1])


# --- the report --------------------------------------------------------------------------------------------

def fmt(v, spec=".1f") -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    return format(v, spec)


def report(args, db_label: str, ours: dict, node: dict | None) -> bool:
    n = ours["clients"]

    def derived(r: dict) -> dict:
        a, s = r["actions"], r["storm"]
        idle_cpu_ms = r["idleCpuMsPerS"] * a["elapsedS"]
        return {
            "p50": a["p50"], "p99": a["p99"], "last_med": a["lastMedian"], "last_worst": a["lastWorst"],
            "first_med": a["firstMedian"], "fleet_cpu": a["fleetCpuMsPerAction"], "other": a["otherLoadPct"],
            "other_storm": s["otherLoadPct"], "storm_cpu": s["serverCpuS"],
            "max": a["max"], "rest": a["restMsP50"], "missing": a["missing"],
            "cpu": a["cpuMsPerAction"], "pg_cpu": a.get("postgresCpuMsPerAction"), "cpu_net": max(0.0, (a["cpuS"] * 1000 - idle_cpu_ms) / a["actions"]),
            "cpu_rest": r["restOnly"]["cpuMsPerAction"], "cpu_idle": r["idleCpuMsPerS"],
            "rss_idle": r["rssIdleKB"] / 1024, "rss_n": r["rssConnectedKB"] / 1024,
            "rss_per": (r["rssConnectedKB"] - r["rssIdleKB"]) / r["clients"],
            "rss_after": r["rssAfterActionsKB"] / 1024,
            "connect": r["connect"]["seconds"], "join": r["connect"]["joinMsP50"],
            "storm": s["resyncAllS"], "storm_p50": s["resyncP50S"], "rejoin": s["lastRejoinS"],
            "rejoin_ack": s["rejoinAckMsP50"], "rejoin_ack_max": s["rejoinAckMsMax"], "gaps": s["gaps"],
            "chair": s["chairActions"], "snap": s["snapshots"], "dups": s["duplicates"],
            "resynced": s["resyncedCount"], "retries": s["connectRetries"],
            "ext": r["connect"]["extensions"] or "none",
        }

    o = derived(ours)
    b = derived(node) if node else None

    def ratio(key):
        if not b or not b[key]:
            return None
        return o[key] / b[key]

    rows = [
        ("chair action -> all tablets received (ms), pooled over K actions", None, None),
        ("  p50 latency", "p50", ".1f"),
        ("  p99 latency", "p99", ".1f"),
        ("  first tablet, median action", "first_med", ".1f"),
        ("  last tablet, median action", "last_med", ".1f"),
        ("  last tablet, worst action", "last_worst", ".1f"),
        ("  chair's REST round trip, p50", "rest", ".1f"),
        ("  events never received", "missing", "d"),
        ("  fleet's own CPU per action (ms)", "fleet_cpu", ".1f"),
        ("  other processes' CPU (% of one core)", "other", ".0f"),
        ("server CPU (ms)", None, None),
        ("  per chair action with N tablets", "cpu", ".1f"),
        ("    same, minus idle background", "cpu_net", ".1f"),
        ("  per chair action, no tablet", "cpu_rest", ".1f"),
        ("  PostgreSQL processes, per chair action", "pg_cpu", ".1f"),
        ("  idle with N tablets, per second", "cpu_idle", ".1f"),
        ("server memory", None, None),
        ("  RSS idle (MB)", "rss_idle", ".1f"),
        ("  RSS with N tablets joined (MB)", "rss_n", ".1f"),
        ("  RSS per tablet (KB)", "rss_per", ".1f"),
        ("  RSS after the K actions (MB)", "rss_after", ".1f"),
        ("connect + join (N tablets, 25 at a time)", None, None),
        ("  all joined after (s)", "connect", ".2f"),
        ("  join ack p50 (ms)", "join", ".1f"),
        (f"reconnect storm (all drop, back within {args.storm_window:g} s)", None, None),
        ("  all resynced after (s)", "storm", ".2f"),
        ("  median tablet resynced after (s)", "storm_p50", ".2f"),
        ("  last re-join ack after (s)", "rejoin", ".2f"),
        ("  re-join ack p50 / max (ms)", "rejoin_ack", ".0f"),
        ("  tablets resynced", "resynced", "d"),
        ("  unresolved seq gaps", "gaps", "d"),
        ("  chair actions during the storm", "chair", "d"),
        ("  server CPU during the storm (s)", "storm_cpu", ".2f"),
        ("  snapshots / duplicate events", "snap", "d"),
        ("  connect retries", "retries", "d"),
        ("  other processes' CPU (% of one core)", "other_storm", ".0f"),
    ]
    print()
    print(f"Phòng Họp fleet benchmark: {n} tablets, {args.actions} chair actions, {db_label}, "
          f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"WebSocket extensions negotiated: Phòng Họp “{o['ext']}”, Node “{b['ext'] if b else '—'}”")
    print(f"{'':<50}{'Phòng Họp':>11}{'Node':>9}{'ours/Node':>11}")
    for label, key, spec in rows:
        if key == "pg_cpu" and o["pg_cpu"] is None:
            continue
        if key is None:
            print(label)
            continue
        ov, bv = o[key], (b[key] if b else None)
        if key == "rejoin_ack":
            ostr = f"{fmt(o['rejoin_ack'], '.0f')}/{fmt(o['rejoin_ack_max'], '.0f')}"
            bstr = f"{fmt(b['rejoin_ack'], '.0f')}/{fmt(b['rejoin_ack_max'], '.0f')}" if b else "—"
            print(f"{label:<50}{ostr:>11}{bstr:>9}")
            continue
        if key == "snap":
            ostr = f"{o['snap']}/{o['dups']}"
            bstr = f"{b['snap']}/{b['dups']}" if b else "—"
            print(f"{label:<50}{ostr:>11}{bstr:>9}")
            continue
        r = ratio(key) if spec != "d" and key not in ("fleet_cpu", "other", "other_storm", "pg_cpu") else None
        print(f"{label:<50}{fmt(ov, spec):>11}{fmt(bv, spec):>9}{fmt(r, '.2f') if r else '':>11}")

    busy = max(o["other"], o["other_storm"], *((b["other"], b["other_storm"]) if b else ()))
    if busy > 15:
        print(f"WARNING: other processes used up to {busy:.0f}% of a core during the measurements; this machine has "
              f"{os.cpu_count()} cores, so the figures above are disturbed. Re-run on a quiet machine.")
    print()
    print(f"Targets (issue 4, N = 500; this run N = {n}):")
    checks = [
        ("p50 <= 25 ms", o["p50"] <= TARGETS["p50"], f"{o['p50']:.1f} ms"),
        ("p99 <= 60 ms", o["p99"] <= TARGETS["p99"], f"{o['p99']:.1f} ms"),
        ("p50 ratio to Node <= 1.5", ratio("p50") is not None and ratio("p50") <= TARGETS["ratio"],
         f"{fmt(ratio('p50'), '.2f')}"),
        ("p99 ratio to Node <= 1.5", ratio("p99") is not None and ratio("p99") <= TARGETS["ratio"],
         f"{fmt(ratio('p99'), '.2f')}"),
        ("RSS <= 80 KB per tablet", o["rss_per"] <= TARGETS["rss_kb"], f"{o['rss_per']:.1f} KB"),
        ("storm: all resynced <= 5 s", o["storm"] == o["storm"] and o["storm"] <= TARGETS["storm_s"],
         f"{fmt(o['storm'], '.2f')} s"),
        ("storm: zero unresolved gaps", o["gaps"] == 0 and o["resynced"] == n, f"{o['gaps']} gaps"),
        ("every event delivered", o["missing"] == 0, f"{o['missing']} missing"),
    ]
    for name, ok, value in checks:
        print(f"  {'MET   ' if ok else 'MISSED'} {name:<32} {value}")
    for name, r in (("Phòng Họp", ours), ("Node", node)):
        if r and not r["storm"].get("seqAccounted", True):
            print(f"  note ({name}): the latest seq is not the seq before the storm + the chair's actions there; "
                  "something else wrote to the meeting, so the resync times are approximate")
    if ours.get("unexpectedDisconnectCount"):
        print(f"  note: {ours['unexpectedDisconnectCount']} unexpected disconnects: {ours['unexpectedDisconnects']}")
    return all(ok for _n, ok, _v in checks)


# --- main --------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500, help="tablets (default 500)")
    parser.add_argument("--actions", type=int, default=30, help="chair actions measured (default 30)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server to use: a fresh database is created there and dropped at exit")
    parser.add_argument("--storm-window", type=float, default=2.0, help="tablets come back within this many s")
    parser.add_argument("--client-deflate", choices=("on", "off"), default="on",
                        help="whether tablets offer permessage-deflate (browsers do: on; off is for diagnosis)")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="S",
                        help="before each measurement, wait up to S s for other processes to go quiet")
    parser.add_argument("--skip-node", action="store_true", help="measure Phòng Họp only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results to this file")
    args = parser.parse_args()
    if not 1 <= args.clients <= 5000 or not 1 <= args.actions <= 1000:
        parser.error("--clients must be 1..5000 and --actions 1..1000")

    def on_term(_sig, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started in the background, where SIGINT is ignored
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(Abort("the whole run exceeded 30 minutes")))
    signal.alarm(1800)

    tmp = Path(tempfile.mkdtemp(prefix="phonghop-fleet-"))
    procs: list[Proc] = []
    pg: tuple[str, str] | None = None
    try:
        node = ensure_node()
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update({"DATA_DIR": str(tmp / "data"), "SECRET_KEY": "fleet-bench", "PYTHONUNBUFFERED": "1"})
        db_label = "SQLite (embedded tier)"
        if args.database_url:
            pg = create_pg_database(args.database_url)
            env["DATABASE_URL"] = pg[1]
            db_label = f"PostgreSQL ({pg[1].split('@')[-1]})"
        setup_path = tmp / "setup.json"
        done = subprocess.run([PY, str(HERE / "setup_db.py"), "--clients", str(args.clients), "--out",
                               str(setup_path)], cwd=ROOT, env=env, timeout=600, capture_output=True, text=True)
        if done.returncode != 0:
            raise Abort(f"setup_db.py failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
        print(done.stderr.strip().splitlines()[-1], file=sys.stderr)
        setup = json.loads(setup_path.read_text())

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = Proc("Phòng Họp", [PY, "-m", "meetings", "serve", "--host", "127.0.0.1", "--port", str(port)],
                      env, tmp / "server.log", url + "/api/openapi.json")
        procs.append(server)
        mid = setup["meeting_id"]
        http_json(f"{url}/api/v1/meetings/{mid}/transitions", "POST", {"action": "start"}, setup["chair_token"])
        print(f"Phòng Họp server pid {server.pid} on {url}; meeting {mid} started", file=sys.stderr)
        ours = run_fleet(node, "ours", url, server.pid, setup, args, tmp)
        server.stop()

        baseline = None
        if not args.skip_node:
            bport = free_port()
            burl = f"http://127.0.0.1:{bport}"
            bserver = Proc("Node baseline", [node, str(HERE / "baseline-server.js"), "--port", str(bport),
                                             "--tokens", str(setup_path)], env, tmp / "baseline.log",
                           burl + "/health")
            procs.append(bserver)
            print(f"Node baseline pid {bserver.pid} on {burl}", file=sys.stderr)
            baseline = run_fleet(node, "node", burl, bserver.pid, setup, args, tmp)
            bserver.stop()

        if args.json:
            args.json.write_text(json.dumps({"ours": ours, "node": baseline}, indent=1))
        all_met = report(args, db_label, ours, baseline)
        return 0 if all_met else 1
    except Abort as err:
        print(f"fleet benchmark aborted: {err}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as err:
        print(f"fleet benchmark aborted: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; stopping the servers", file=sys.stderr)
        return 130
    finally:
        signal.alarm(0)
        for p in reversed(procs):
            p.stop()
        if pg and args.database_url:
            drop_pg_database(args.database_url, pg[0])
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
