"""Flask commands: ``flask --app meetings create-user | seed-demo | import-participants`` (``db …`` from Flask-Migrate)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask

from meetings.core.errors import DomainError
from meetings.core.tx import begin_write, commit
from meetings.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.option("--username", required=True)
    @click.option("--full-name", required=True)
    @click.option("--title", default="")
    @click.option("--admin", is_flag=True, help="Give the user administrator rights.")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def create_user_cmd(username, full_name, title, admin, password_stdin):
        """Create a user (the first administrator, typically)."""
        from pydantic import ValidationError

        from meetings.auth.operations import create_user
        from meetings.auth.schemas import UserCreate

        password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
        try:
            data = UserCreate(username=username, full_name=full_name, title=title, password=password, is_admin=admin)
        except ValidationError as err:
            raise click.ClickException("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()))
        begin_write()
        try:
            user = create_user(data, actor=None)
            commit()
        except DomainError as err:
            raise click.ClickException(err.detail)
        click.echo(f"created user {user.username} (id {user.id}){' as administrator' if admin else ''}")

    @app.cli.command("seed-demo")
    def seed_demo_cmd():
        """Load a demo body, users for every role and a published meeting."""
        from meetings.demo import seed_demo

        seed_demo(echo=click.echo)

    @app.cli.command("import-participants")
    @click.argument("meeting_id", type=int)
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def import_participants_cmd(meeting_id, file):
        """Import a participant roster (CSV or XLSX); nothing is imported if any row is invalid."""
        from meetings.meeting.operations import import_participants

        begin_write()
        try:
            participants = import_participants(meeting_id, file.read_bytes(), file.name, actor=None)
            commit()
        except DomainError as err:
            db.session.rollback()
            click.echo(f"error: {err.detail}", err=True)
            for row in err.extra.get("errors", []):
                click.echo(f"  row {row['row']}: {row['message']}", err=True)
            sys.exit(1)
        click.echo(f"imported {len(participants)} participant(s) into meeting {meeting_id}")

    @app.cli.command("verify-archive")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--trust-roots", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="PEM file of the certificate authorities you trust (default: the roots inside the archive, "
                       "which proves integrity but not who the signers are).")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    @click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
    def verify_archive_cmd(file, trust_roots, as_json, lang):
        """Check a meeting archive (ZIP) offline: file hashes, every signature, the audit chain and the chain
        head printed in the minutes. Exit status 0 when everything holds, 1 otherwise."""
        import json
        import logging

        from meetings.minutes.archive import format_report, verify_archive

        # pyHanko logs a traceback for every path it cannot validate; the report already says it in one line.
        for name in ("pyhanko", "pyhanko_certvalidator"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        from meetings.signing.pki import CertificateError, load_certificates

        try:
            data = file.read_bytes()
        except OSError as err:
            click.echo(f"error: cannot read {file}: {err.strerror}", err=True)
            sys.exit(2)
        roots = None
        if trust_roots is not None:
            try:
                roots = load_certificates(trust_roots.read_bytes())
            except OSError as err:
                click.echo(f"error: cannot read {trust_roots}: {err.strerror}", err=True)
                sys.exit(2)
            except CertificateError as err:
                click.echo(f"error: {trust_roots}: {err}", err=True)
                sys.exit(2)
        report = verify_archive(data, trust_roots=roots)
        if as_json:
            click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        else:
            click.echo(format_report(report, lang=lang))
        sys.exit(0 if report.ok else 1)
