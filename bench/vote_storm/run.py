"""bench/vote_storm: N eligible delegates cast their ballots at the same moment over Socket.IO.

    python bench/vote_storm/run.py [--clients 500] [--rounds 3] [--databases sqlite,postgresql]
                                   [--pg-admin-url postgresql://postgres@127.0.0.1:5432/test]

For each database: a fresh database with the demo plus N delegates holding API tokens (bench/fleet/setup_db.py),
the real server (`python -m meetings serve`), the meeting started. Each round the chair opens a poll (named
and secret alternately), the Node fleet (storm.js, socket.io-client from bench/fleet/node_modules) connects
the N tablets, and all of them send `ballot.cast` at once; the script records the time until the last ack,
ack latency and ballots per second, then closes the poll over REST and checks that the closed tally equals
what was acknowledged, option by option. Figures only (targets shown for reference: all N acked within
500 ms, >= 1,000 ballots/s). Everything stays on 127.0.0.1; the servers and databases are removed at exit.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FLEET = HERE.parent / "fleet"
sys.path.insert(0, str(FLEET))
from run import (PY, ROOT, Abort, Proc, create_pg_database, drop_pg_database, ensure_node, free_port,  # noqa: E402
                 http_json)

TARGETS = {"all_acked_ms": 500.0, "ballots_per_s": 1000.0}


def prepare(db_label: str, args, tmp: Path) -> tuple[dict, dict, str | None]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DATA_DIR": str(tmp / db_label), "SECRET_KEY": "vote-storm", "PYTHONUNBUFFERED": "1"})
    pg_name = None
    if db_label == "postgresql":
        pg_name, url = create_pg_database(args.pg_admin_url)
        env["DATABASE_URL"] = url
    out = tmp / f"setup-{db_label}.json"
    done = subprocess.run([PY, str(FLEET / "setup_db.py"), "--clients", str(args.clients), "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise Abort(f"setup_db.py failed:\n{done.stderr[-3000:]}")
    return json.loads(out.read_text()), env, pg_name


def storm_round(node: str, base: str, setup: dict, args, tmp: Path, n: int, secret: bool, server_pid: int) -> dict:
    meeting = setup["meeting_id"]
    chair = setup["chair_token"]
    poll = http_json(f"{base}/api/v1/meetings/{meeting}/polls", "POST",
                     {"title": f"Biểu quyết thử tải {n}", "secret": secret, "rule": "simple"}, chair)
    http_json(f"{base}/api/v1/meetings/{meeting}/polls/{poll['poll_id']}/open", "POST", None, chair)
    cfg = {"url": base, "meetingId": meeting, "pollId": poll["poll_id"], "tokens": setup["tokens"],
           "connectConcurrency": 25, "settleMs": 1500, "ackTimeoutMs": 30000, "deadlineS": 300, "run": n,
           "serverPid": server_pid}
    cfg_path = tmp / f"storm-{n}.json"
    cfg_path.write_text(json.dumps(cfg))
    proc = subprocess.run([node, str(HERE / "storm.js"), str(cfg_path)], cwd=HERE, stdout=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, timeout=330)
    lines = proc.stdout.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise Abort(f"storm.js failed (exit {proc.returncode})")
    result = json.loads(lines[-1])
    closed = http_json(f"{base}/api/v1/meetings/{meeting}/polls/{poll['poll_id']}/close", "POST", None, chair)
    counts = closed["result"]["counts"]
    result["tally_matches"] = counts == result["ackedCounts"] and closed["result"]["cast"] == result["acked"]
    result["secret"] = secret
    return result


def run_database(db_label: str, node: str, args, tmp: Path) -> list[dict]:
    setup, env, pg_name = prepare(db_label, args, tmp)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = None
    try:
        server = Proc(f"server ({db_label})", [PY, "-m", "meetings", "serve", "--port", str(port)], env,
                      tmp / f"server-{db_label}.log", base + "/api/openapi.json")
        http_json(f"{base}/api/v1/meetings/{setup['meeting_id']}/transitions", "POST", {"action": "start"},
                  setup["chair_token"])
        return [storm_round(node, base, setup, args, tmp, n, secret=n % 2 == 1, server_pid=server.proc.pid) for n in range(args.rounds)]
    finally:
        if server is not None:
            server.stop()
        if pg_name:
            drop_pg_database(args.pg_admin_url, pg_name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-admin-url", default=os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    node = ensure_node()
    rows = []
    with tempfile.TemporaryDirectory(prefix="vote-storm-") as tmp_name:
        tmp = Path(tmp_name)
        for db_label in [d.strip() for d in args.databases.split(",") if d.strip()]:
            for n, r in enumerate(run_database(db_label, node, args, tmp)):
                rows.append((db_label, n, r))
                print(f"{db_label} round {n}: {json.dumps(r)}", file=sys.stderr)
    print(f"\nvote storm: {args.clients} tablets cast at once over Socket.IO (ack after commit)")
    print(f"{'database':<11}{'round':>6}{'kind':>8}{'acked':>7}{'errors':>7}{'all acked ms':>14}{'p50 ms':>8}"
          f"{'p99 ms':>8}{'ballots/s':>11}{'server CPU ms/ballot':>22}{'tally ok':>10}")
    for db_label, n, r in rows:
        print(f"{db_label:<11}{n:>6}{'secret' if r['secret'] else 'named':>8}{r['acked']:>7}{r['errors']:>7}"
              f"{r['allAckedMs'] or 0:>14.0f}{r['p50Ms'] or 0:>8.0f}{r['p99Ms'] or 0:>8.0f}"
              f"{r['ballotsPerS'] or 0:>11.0f}{r['serverCpuS'] * 1000 / max(1, r['acked']):>22.2f}"
              f"{str(r['tally_matches']):>10}")
    print(f"targets: all acked <= {TARGETS['all_acked_ms']:.0f} ms, >= {TARGETS['ballots_per_s']:.0f} ballots/s")
    return 0 if all(r["tally_matches"] and r["errors"] == 0 for _d, _n, r in rows) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Abort as err:
        print(f"vote_storm: {err}", file=sys.stderr)
        sys.exit(2)
