"""B-T through an RFC 3161 TSA over HTTP (what TSA_URL configures), served locally by a tiny test TSA."""
from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asn1crypto import tsp

from meetings.signing import pades, pki
from meetings.signing.timestamps import http_timestamper, local_timestamper
from meetings.signing.verify import Verdict, verify_pdf
from tests.signing.conftest import ORG_NAME


@pytest.fixture
def tsa_url(test_pki: pki.GeneratedPki) -> Iterator[str]:
    backend = local_timestamper(test_pki.tsa)
    requests: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server calls do_POST
            body = self.rfile.read(int(self.headers["Content-Length"]))
            assert self.headers["Content-Type"] == "application/timestamp-query"
            response = asyncio.run(backend.async_request_tsa_response(tsp.TimeStampReq.load(body)))
            data = response.dump()
            requests.append(len(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert requests, "the TSA was never asked"


def test_b_t_via_http_tsa(document: bytes, test_pki: pki.GeneratedPki, signing_time: dt.datetime, tsa_url: str) -> None:
    out = pades.sign_document(document, signer=test_pki.organisation, org_name=ORG_NAME, doc_number=None,
                              signing_time=signing_time, timestamper=http_timestamper(tsa_url))
    report = verify_pdf(out, trust_roots=test_pki.trust_roots)
    assert report.verdict == Verdict.VALID, report.summary
    assert report.signatures[0].timestamp_time is not None


def test_unreachable_tsa_is_a_signing_error(document: bytes, test_pki: pki.GeneratedPki,
                                            signing_time: dt.datetime) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(pades.SigningError, match="time-stamp authority did not answer"):
        pades.sign_document(document, signer=test_pki.organisation, org_name=ORG_NAME, doc_number=None,
                            signing_time=signing_time, timestamper=http_timestamper(f"http://127.0.0.1:{port}/"))


def test_timestamp_from_an_untrusted_tsa_is_reported(document: bytes, test_pki: pki.GeneratedPki,
                                                     rogue_pki: pki.GeneratedPki, signing_time: dt.datetime) -> None:
    out = pades.sign_document(document, signer=test_pki.organisation, org_name=ORG_NAME, doc_number=None,
                              signing_time=signing_time, timestamper=local_timestamper(rogue_pki.tsa))
    report = verify_pdf(out, trust_roots=test_pki.trust_roots)
    sig = report.signatures[0]
    assert sig.trusted  # the signer is fine …
    assert report.verdict == Verdict.VALID_BUT_UNTRUSTED  # … but the time it claims is not attested
    assert "time-stamp authority is not trusted" in sig.summary
