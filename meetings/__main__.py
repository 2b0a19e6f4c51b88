"""``python -m meetings serve``: the real server (gevent), migrations applied first."""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402


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

    from gevent.pywsgi import WSGIServer

    from meetings.realtime.server import run_sweeper
    sio = app.extensions["socketio"]
    sio.start_background_task(run_sweeper, app, sio)

    server = WSGIServer((args.host, args.port), app, log=None)
    # Move start-up's objects out of the collector's view: with 500 tablets a full collection otherwise
    # pauses every socket for 130-190 ms (bench/fleet), with this for 40-55 ms.
    import gc
    gc.collect()
    gc.freeze()
    print(f"Phòng Họp is running at http://{args.host}:{args.port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
