"""deploy/nginx.conf, as shipped, in front of a real worker with BEHIND_NGINX=1.

The worker checks access and answers with X-Accel-Redirect; nginx must then send the exact signed bytes with
the worker's strong ETag and caching headers, keep 304 and Range working, refuse its internal location to
the outside, and pass the tablets' WebSockets through. One worker and one nginx serve the module; the tests
only read, except the one that uploads its own confidential document.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.fixtures.live_server import ServerProcess, launch_demo
from tests.fixtures.nginx import NginxProcess, start_nginx
from tests.realtime.clients import Tablet, api, login
from tests.signing.pdfgen import sample_pdf


@dataclass
class Stack:
    worker: ServerProcess
    nginx: NginxProcess
    blobs: Path
    tokens: dict[str, str]

    def get(self, path: str, username: str = "daibieu1", **headers: str) -> requests.Response:
        auth = {"Authorization": f"Bearer {self.tokens[username]}"} if username else {}
        return requests.get(self.nginx.url + path, headers={**auth, **headers}, timeout=30)

    def blob(self, sha: str) -> bytes:
        return (self.blobs / sha[:2] / sha[2:4] / sha).read_bytes()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("nginx-xaccel")
    worker = launch_demo(tmp / "data", tmp, {"BEHIND_NGINX": "1"})
    try:
        nginx = start_nginx([f"127.0.0.1:{worker.port}"], tmp / "data" / "blobs", tmp / "nginx")
        try:
            tokens = {u: login(nginx.url, u) for u in ("daibieu1", "thuky", "chutoa")}  # logins through nginx too
            yield Stack(worker, nginx, tmp / "data" / "blobs", tokens)
        finally:
            nginx.stop()
    finally:
        worker.stop()


@pytest.fixture(scope="module")
def document(stack) -> dict:
    """The first signed document of the demo meeting, as the delegate's list shows it."""
    resp = stack.get("/api/v1/meetings/1/documents")
    assert resp.status_code == 200, resp.text
    return resp.json()["items"][0]


def test_a_delegate_gets_the_exact_signed_pdf_with_the_workers_headers(stack, document):
    sha, size = document["current"]["sha256"], document["current"]["size"]
    resp = stack.get(document["file_url"])
    assert resp.status_code == 200
    assert resp.content == stack.blob(sha) and hashlib.sha256(resp.content).hexdigest() == sha
    assert int(resp.headers["Content-Length"]) == size
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["ETag"] == f'"{sha}"'  # the worker's strong ETag, not nginx's "mtime-size" one
    assert resp.headers["Cache-Control"].startswith("private")
    assert resp.headers["Accept-Ranges"] == "bytes"  # once: nginx serves the ranges
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "Last-Modified" not in resp.headers and "X-Accel-Redirect" not in resp.headers
    # The worker itself only answered with headers: the bytes came from nginx.
    direct = requests.get(stack.worker.url + document["file_url"], timeout=30,
                          headers={"Authorization": f"Bearer {stack.tokens['daibieu1']}"})
    assert direct.status_code == 200 and direct.content == b""
    assert direct.headers["X-Accel-Redirect"] == f"/_protected_blobs/{sha[:2]}/{sha[2:4]}/{sha}"
    assert resp.headers["Content-Disposition"] == direct.headers["Content-Disposition"]


def test_revalidation_and_ranges_go_through_nginx(stack, document):
    sha, size = document["current"]["sha256"], document["current"]["size"]
    blob = stack.blob(sha)
    cached = stack.get(document["file_url"], **{"If-None-Match": f'"{sha}"'})
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["ETag"] == f'"{sha}"'

    part = stack.get(document["file_url"], Range="bytes=0-99")
    assert part.status_code == 206 and part.content == blob[:100]
    assert part.headers["Content-Range"] == f"bytes 0-99/{size}" and part.headers["ETag"] == f'"{sha}"'
    tail = stack.get(document["file_url"], Range="bytes=-10")
    assert tail.status_code == 206 and tail.content == blob[-10:]

    # If-Range is compared with the worker's ETag: the same → the range; another → the whole file.
    same = stack.get(document["file_url"], Range="bytes=10-19", **{"If-Range": f'"{sha}"'})
    assert same.status_code == 206 and same.content == blob[10:20]
    changed = stack.get(document["file_url"], Range="bytes=10-19", **{"If-Range": '"another-version"'})
    assert changed.status_code == 200 and changed.content == blob

    assert stack.get(document["file_url"], Range=f"bytes={size}-").status_code == 416


def test_the_internal_location_is_not_reachable_from_outside(stack, document):
    sha = document["current"]["sha256"]
    for username in ("daibieu1", ""):
        resp = stack.get(f"/_protected_blobs/{sha[:2]}/{sha[2:4]}/{sha}", username=username)
        assert resp.status_code == 404 and b"%PDF" not in resp.content


def test_a_document_the_caller_may_not_see_is_a_404_without_bytes(stack):
    upload = requests.post(stack.nginx.url + "/api/v1/meetings/1/documents", timeout=60,
                           headers={"Authorization": f"Bearer {stack.tokens['thuky']}"},
                           files={"file": ("mat.pdf", sample_pdf(1), "application/pdf")},
                           data={"title": "Chỉ chủ tọa", "audience": "roles", "roles": "chair"})
    assert upload.status_code == 201, upload.text
    doc = upload.json()
    refused = stack.get(doc["file_url"], username="daibieu1")
    assert refused.status_code == 404 and refused.headers["Content-Type"] == "application/problem+json"
    assert b"%PDF" not in refused.content and "X-Accel-Redirect" not in refused.headers
    assert stack.get(doc["file_url"], username="").status_code == 401
    allowed = stack.get(doc["file_url"], username="chutoa")
    assert allowed.status_code == 200 and allowed.content == stack.blob(doc["current"]["sha256"])


def test_a_tablet_connects_through_nginx_and_follows_the_meeting(stack):
    # websocket-client sends the page's Origin (http://127.0.0.1:<nginx port>) as a browser does, and engine.io
    # compares it with the Host that nginx forwards: with $host (no port) instead of $http_host it is refused.
    tablet = Tablet(stack.nginx.url, stack.tokens["daibieu1"])
    try:
        assert tablet.client.transport() == "websocket"
        seq = tablet.call("join", {"meeting_id": 1})["seq"]
        resp = api(stack.nginx.url, "PATCH", "/api/v1/meetings/1/agenda/1", stack.tokens["thuky"],
                   {"title": "Khai mạc (qua nginx)"})
        assert resp.status_code == 200, resp.text
        got = tablet.wait_for(lambda r: any(e == "agenda.updated" for e, _d in r))
        event, data = next((e, d) for e, d in got if e == "agenda.updated")
        assert data["seq"] == seq + 1 and data["items"][0]["title"] == "Khai mạc (qua nginx)"
    finally:
        tablet.close()
