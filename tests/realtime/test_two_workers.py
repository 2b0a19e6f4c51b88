"""Two real server processes, one PostgreSQL database, the real Redis message queue between them."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
import pytest

from tests.conftest import PG_ADMIN_URL
from tests.fixtures.live_server import ROOT, ServerProcess
from tests.realtime.clients import Tablet, api, login

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def two_workers(tmp_path):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as err:
        pytest.fail(f"Redis is required for the multi-worker test and is not reachable at {REDIS_URL}: {err}")
    name = f"phonghop_workers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DATA_DIR": str(tmp_path), "SECRET_KEY": "two-workers", "DATABASE_URL": url, "REDIS_URL": REDIS_URL,
                "REDIS_CHANNEL": f"phonghop-test-{uuid.uuid4().hex[:8]}", "PYTHONUNBUFFERED": "1"})
    for args in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run([sys.executable, "-m", "flask", "--app", "meetings", *args], cwd=ROOT, env=env, check=True,
                       capture_output=True)
    workers = [ServerProcess(env, tmp_path / f"worker-{n}.log") for n in "ab"]
    yield workers
    for worker in workers:
        worker.stop()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_change_through_worker_a_reaches_a_tablet_on_worker_b_and_resync_crosses_workers(two_workers):
    a, b = two_workers
    secretary, delegate = login(a.url, "thuky"), login(b.url, "daibieu1")  # tokens live in the shared database
    on_b = Tablet(b.url, delegate)
    try:
        seq = on_b.call("join", {"meeting_id": 1})["seq"]
        assert api(a.url, "PATCH", "/api/v1/meetings/1/agenda/1", secretary, {"title": "Khai mạc (A)"}).ok
        got = on_b.wait_for(lambda r: len(r) >= 1)
        assert got[0][0] == "agenda.updated" and got[0][1]["seq"] == seq + 1
        assert got[0][1]["items"][0]["title"] == "Khai mạc (A)"

        on_b.client.eio.disconnect(abort=True)  # the tablet drops off worker B …
        for i in range(3):
            assert api(a.url, "POST", "/api/v1/meetings/1/agenda", secretary, {"title": f"Mục {i}"}).ok
        on_a = Tablet(a.url, delegate)  # … and comes back through worker A
        try:
            ack = on_a.call("join", {"meeting_id": 1, "last_seq": seq + 1})
            assert [e["seq"] for e in ack["events"]] == [seq + 2, seq + 3, seq + 4]
            assert ack["seq"] == seq + 4
        finally:
            on_a.close()
    finally:
        on_b.close()


def test_unreachable_redis_stops_start_up_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update({"DATA_DIR": str(tmp_path), "SECRET_KEY": "x", "REDIS_URL": "redis://127.0.0.1:1/0"})
    result = subprocess.run([sys.executable, "-m", "meetings", "serve", "--port", "1"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration error: cannot reach Redis at REDIS_URL"), result.stderr
