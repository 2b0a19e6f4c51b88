"""``python -m meetings serve``: migrates an empty database itself, and refuses bad configuration in one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_serve_migrates_a_fresh_database_and_answers(start_server):
    server = start_server()
    with urllib.request.urlopen(server.url + "/api/openapi.json", timeout=10) as resp:
        spec = json.loads(resp.read())
    assert "/api/v1/meetings" in spec["paths"]
    request = urllib.request.Request(server.url + "/api/v1/auth/login", method="POST",
                                     data=b'{"username": "nobody", "password": "x"}',
                                     headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("login of an unknown user succeeded")
    except urllib.error.HTTPError as err:
        assert err.code == 401
        assert err.headers["Content-Type"] == "application/problem+json"


def _serve(env_overrides: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DATA_DIR": str(tmp_path), "SECRET_KEY": "x"}, **env_overrides)
    return subprocess.run([sys.executable, "-m", "meetings", "serve", "--port", "1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_bad_number_stops_start_up_with_one_line(tmp_path):
    result = _serve({"MAX_UPLOAD_MB": "lots"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: MAX_UPLOAD_MB must be a whole number, not 'lots'"


def test_unreachable_database_stops_start_up_with_one_line(tmp_path):
    result = _serve({"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration error: cannot use the database"), result.stderr


def test_concurrent_writes_on_the_gevent_server_all_commit(demo_server):
    """40 agenda writes from 8 threads against the real gevent server on SQLite: all acknowledged, none lost."""
    from concurrent.futures import ThreadPoolExecutor

    def post(path: str, body: dict, token: str | None = None) -> tuple[int, dict]:
        req = urllib.request.Request(demo_server.url + path, method="POST", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    status, login = post("/api/v1/auth/login", {"username": "thuky", "password": "demo-2026"})
    assert status == 200
    token = login["token"]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: post("/api/v1/meetings/2/agenda", {"title": f"Mục {i}"}, token), range(40)))
    assert [s for s, _ in results] == [201] * 40
    req = urllib.request.Request(demo_server.url + "/api/v1/meetings/2/agenda",
                                 headers={"Authorization": f"Bearer {token}"})
    agenda = json.loads(urllib.request.urlopen(req, timeout=10).read())
    assert sorted(i["title"] for i in agenda["items"]) == sorted(f"Mục {i}" for i in range(40))
    req = urllib.request.Request(demo_server.url + "/api/v1/meetings/2/events?after=1",
                                 headers={"Authorization": f"Bearer {token}"})
    events = json.loads(urllib.request.urlopen(req, timeout=10).read())["events"]
    assert [e["seq"] for e in events] == list(range(2, len(events) + 2))
    assert sum(e["type"] == "agenda.updated" for e in events) == 40
