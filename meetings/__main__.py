"""``python -m meetings serve``: the real server (gevent), migrations applied first."""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402


# Each connection's request reader keeps its buffer for the connection's life, and a tablet's WebSocket lives
# all day: gevent's default (8 KB) was a tenth of a tablet's memory (bench/fleet). A request's line and
# headers take a few reads of 1 KB; bodies are read in chunks larger than the buffer, which bypass it.
READ_BUFFER = 1024


# The cyclic collector's thresholds (CPython's default: 700, 10, 10). Most of a request's objects die by
# reference counting; what a tablet keeps lives all day. With the default, every few hundred connecting tablets
# trigger a full collection, each pausing every socket for longer the more tablets there are (bench/fleet,
# 500 tablets: ~20 full collections while they join, the last ones 30-45 ms, and more during the chair's
# actions). Collecting the young generation every 10 000 allocations instead of 700 makes full collections
# about fourteen times rarer; cyclic garbage waits a little longer for the young collections.
GC_THRESHOLDS = (10_000, 10, 10)


def make_server(host: str, port: int, app):
    """The gevent WSGI server; it hands the WebSocket transport the connection's socket
    (``environ["phonghop.socket"]``, see ``meetings.realtime.server.DirectWebSocket``)."""
    import socket

    from gevent.pywsgi import WSGIHandler, WSGIServer

    class Handler(WSGIHandler):
        def __init__(self, sock, address, server):
            super().__init__(sock, address, server)
            self.rfile = sock.makefile("rb", READ_BUFFER)  # replaces the default reader before any read
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                # pywsgi writes a response's headers and body in two sends, and a broadcast is a small frame
                # per socket: with Nagle's algorithm the second small write waits for the peer's delayed ACK
                # (40 ms measured on a keep-alive connection). Node's and nginx's servers set this too.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def get_environ(self):
            environ = super().get_environ()
            environ["phonghop.socket"] = self.socket
            return environ

    return WSGIServer((host, port), app, log=None, handler_class=Handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meetings")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="apply migrations and run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from meetings import create_app
    from meetings.config import ConfigError

    from sqlalchemy.exc import OperationalError

    from meetings.signing.pki import CertificateError

    try:
        app = create_app()
        with app.app_context():
            from flask_migrate import upgrade
            upgrade()
        from meetings.documents.org_signer import load_org_signer
        load_org_signer(app)
    except CertificateError as err:
        print(f"configuration error: the signing certificate (ORG_P12_PATH) cannot be used: {err}", file=sys.stderr)
        return 2
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    except OperationalError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err).splitlines()[0]
        print(f"configuration error: cannot use the database ({app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}): "
              f"{reason}", file=sys.stderr)
        return 2

    from meetings.realtime.server import run_sweeper
    sio = app.extensions["socketio"]
    sio.start_background_task(run_sweeper, app, sio)
    from meetings.voting.progress import run_vote_loop
    sio.start_background_task(run_vote_loop, app, sio.sleep)  # batched poll.tally, polls closing on time

    server = make_server(args.host, args.port, app)
    # Move start-up's objects out of the collector's view: with 500 tablets a full collection otherwise
    # pauses every socket for 130-190 ms (bench/fleet), with this for 40-55 ms.
    import gc
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    print(f"Phòng Họp is running at http://{args.host}:{args.port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
