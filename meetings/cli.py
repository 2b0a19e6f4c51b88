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
