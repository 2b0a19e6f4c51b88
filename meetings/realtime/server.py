"""Socket.IO on the default namespace.

- ``connect`` requires ``auth: {token}`` (an API bearer token or a page ticket) and, by default, the page's
  own origin; anything else is refused.
- ``join {meeting_id, last_seq}``: the server, not the client, decides the rooms: ``meeting:<id>`` and
  ``meeting:<id>:<role>`` for each of the caller's roles; every socket is also in ``user:<id>``.
  The ack carries the events missed since ``last_seq`` (or a snapshot), so a reconnecting tablet resyncs.
- Committed meeting events leave through ``broadcast`` (an after-commit hook): never before the commit,
  and confidential ones only to the rooms of their audience.
- Every event re-checks the caller against the database. A sweeper re-checks the sockets this worker holds
  twice a second: deactivated users, revoked tokens and logged-out pages are disconnected, removed
  participants leave the meeting's rooms. It reads only the database, so it is right with any number of
  workers behind the message queue.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import wraps
from typing import Annotated, Any, Callable

import sqlalchemy as sa
from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_socketio import ConnectionRefusedError, SocketIO, join_room, leave_room
from pydantic import Field, ValidationError

from meetings.auth.models import ApiToken, User
from meetings.bodies.models import BodyMember
from meetings.config import ConfigError
from meetings.core.db import utcnow
from meetings.core.errors import BadRequest, DomainError, NotAuthenticated, NotFound
from meetings.core.events import CommittedEvent
from meetings.core.schemas import Id, Input
from meetings.core.tx import add_after_commit_hook, begin_write, commit
from meetings.extensions import db
from meetings.meeting.access import load_meeting
from meetings.meeting.models import DisplayToken, Meeting, Participant
from meetings.realtime.sync import catch_up
from meetings.realtime.tickets import read_ticket

log = logging.getLogger(__name__)
SWEEP_SECONDS = 0.5


@dataclass
class Connection:
    """What this worker knows about a socket it holds (the socket itself lives here, so may this)."""

    user_id: int | None  # None for a hall display
    token_digest: str | None  # API token and display sockets
    epoch: int | None  # page-ticket sockets
    display_meeting_id: int | None = None  # a hall display follows exactly one meeting
    meetings: dict[int, set[str]] = field(default_factory=dict)  # meeting id -> rooms joined


@dataclass(frozen=True)
class DisplayCaller:
    """A hall screen: sees what every participant sees of its one meeting, and nothing else."""

    meeting_id: int


def connections(sio: SocketIO) -> dict[str, Connection]:
    return sio.__dict__.setdefault("_phonghop_connections", {})


def to_local_iso_ms(value) -> str:
    """The server's clock for the client's correction of its own (milliseconds matter for a countdown)."""
    from meetings.core.db import VN_TZ
    return value.astimezone(VN_TZ).isoformat(timespec="milliseconds")


def meeting_room(meeting_id: int, role: str | None = None) -> str:
    return f"meeting:{meeting_id}" if role is None else f"meeting:{meeting_id}:{role}"


# --- set-up -----------------------------------------------------------------------------------------------

def _async_mode() -> str:
    from gevent import monkey
    return "gevent" if monkey.is_module_patched("socket") else "threading"


def init_realtime(app: Flask) -> SocketIO:
    redis_url = app.config["REDIS_URL"]
    if redis_url:
        _check_redis(redis_url)
    origins = app.config["ALLOWED_ORIGINS"] or None  # None: the page's own origin only
    sio = SocketIO(app, async_mode=_async_mode(), message_queue=redis_url, channel=app.config["REDIS_CHANNEL"],
                   cors_allowed_origins=origins,
                   ping_interval=10, ping_timeout=10, max_http_buffer_size=64 * 1024,
                   logger=False, engineio_logger=False)
    app.extensions["socketio"] = sio
    app.wsgi_app = _without_websocket_compression(app.wsgi_app)  # type: ignore[method-assign]
    register_handlers(sio)
    from meetings.realtime.follow import register_follow_handlers
    register_follow_handlers(sio)
    add_after_commit_hook(broadcast)
    return sio


def _without_websocket_compression(wsgi_app):
    """Decline permessage-deflate: every browser offers it and simple-websocket accepts it, which costs each
    tablet a zlib compressor (~100 KB resident) and every broadcast a deflate per socket, for ~150-byte
    messages (measured by bench/fleet: RSS 187 -> 88 KB per tablet; socket.io's Node server declines too)."""
    def app(environ, start_response):
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return wsgi_app(environ, start_response)
    return app


def _check_redis(url: str) -> None:
    try:
        import redis
    except ImportError:
        raise ConfigError("REDIS_URL is set but the redis client library is not installed (pip install redis)")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except (redis.RedisError, OSError, ValueError) as err:
        raise ConfigError(f"cannot reach Redis at REDIS_URL ({url.split('@')[-1]}): {err}")


# --- broadcasting committed events ------------------------------------------------------------------------

def broadcast(effects: list) -> None:
    sio: SocketIO | None = current_app.extensions.get("socketio")
    if sio is None:
        return
    for effect in effects:
        if not isinstance(effect, CommittedEvent):
            continue
        rooms = audience_rooms(effect.meeting_id, effect.audience)
        sio.emit(effect.type, effect.message, to=rooms)
        if effect.audience:
            # Everyone else learns only that this seq was not for them, so their seq stays gap-free without a
            # re-join. Sent after the event: a socket in both rooms gets the event first and ignores the stub.
            sio.emit("seq.skip", {"meeting_id": effect.meeting_id, "seq": effect.seq},
                     to=meeting_room(effect.meeting_id))


def audience_rooms(meeting_id: int, audience: dict | None) -> str | list[str]:
    if not audience:
        return meeting_room(meeting_id)
    rooms = [f"user:{uid}" for uid in audience.get("user_ids", ())]
    rooms += [meeting_room(meeting_id, role) for role in audience.get("roles", ())]
    return rooms


# --- one pipeline for every event -------------------------------------------------------------------------

def _current_actor(sio: SocketIO) -> User | DisplayCaller:
    conn = connections(sio).get(request.sid)
    if conn is not None and conn.display_meeting_id is not None:
        if _display_valid(conn):
            return DisplayCaller(conn.display_meeting_id)
    else:
        user = db.session.get(User, conn.user_id) if conn else None
        if conn is not None and user is not None and credential_valid(conn, user):
            return user
    raise NotAuthenticated(_("Your session has ended. Please log in again."))


def _display_valid(conn: Connection) -> bool:
    from meetings.meeting.models import DisplayToken
    display = db.session.execute(sa.select(DisplayToken).where(DisplayToken.token_hash == conn.token_digest)) \
        .scalar_one_or_none()
    return display is not None and display.revoked_at is None


def credential_valid(conn: Connection, user: User) -> bool:
    if not user.active:
        return False
    if conn.epoch is not None:
        return conn.epoch == user.session_epoch
    row = db.session.execute(sa.select(ApiToken).where(ApiToken.token_hash == conn.token_digest)).scalar_one_or_none()
    return row is not None and row.revoked_at is None and row.expires_at > utcnow()


def socket_event(sio: SocketIO, schema: type[Input], *, writes: bool = False) -> Callable:
    """Wrap a handler ``fn(data, actor=…)``: authenticate, validate, run, commit, and ack a result or an error."""
    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        def handler(data: Any = None):
            try:
                if writes:
                    begin_write()
                actor = _current_actor(sio)
                if not isinstance(data, dict):
                    raise BadRequest(_("The event needs an object as its payload."))
                try:
                    payload = schema.model_validate(data, strict=True)
                except ValidationError as err:
                    from meetings.core.api import _validation_detail
                    detail, errors = _validation_detail(err)
                    raise BadRequest(detail, extra={"errors": errors})
                result = fn(payload, actor=actor)
                if writes:
                    commit()
                return result
            except DomainError as err:
                db.session.rollback()
                return {"error": err.to_dict()}
            except Exception:  # an ack must always come back; the cause goes to the log
                db.session.rollback()
                log.exception("socket event %s failed", fn.__name__)
                return {"error": {"type": "internal", "title": _("Internal error"), "status": 500,
                                  "detail": _("An unexpected error occurred; it has been logged.")}}
        return handler
    return decorator


# --- handlers ---------------------------------------------------------------------------------------------

class JoinIn(Input):
    meeting_id: Id
    last_seq: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0


class LeaveIn(Input):
    meeting_id: Id


def authenticate_socket(auth: Any) -> Connection:
    from meetings.auth.operations import user_for_token
    from meetings.meeting.models import DisplayToken
    from meetings.meeting.operations import display_for_token

    token = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(token, str) or not token or len(token) > 512:
        raise ConnectionRefusedError({"status": 401, "detail": "auth.token is required"})
    if token.startswith("dt."):
        display = display_for_token(token)
        if display is None:
            raise ConnectionRefusedError({"status": 401, "detail": "the display link is invalid or revoked"})
        return Connection(None, DisplayToken.digest(token), None, display_meeting_id=display.meeting_id)
    ticket = read_ticket(token)
    if ticket is not None:
        user = db.session.get(User, ticket[0])
        if user is None or not user.active or user.session_epoch != ticket[1]:
            raise ConnectionRefusedError({"status": 401, "detail": "the page ticket is no longer valid"})
        return Connection(user.id, None, ticket[1])
    user = user_for_token(token)
    if user is None:
        raise ConnectionRefusedError({"status": 401, "detail": "the token is invalid, expired or revoked"})
    return Connection(user.id, ApiToken.digest(token), None)


def _join_rooms(sid_conn: Connection, meeting: Meeting, roles: frozenset[str]) -> None:
    rooms = {meeting_room(meeting.id)} | {meeting_room(meeting.id, r) for r in roles}
    for room in rooms:
        join_room(room)  # before reading what was missed: nothing committed in between is lost
    sid_conn.meetings[meeting.id] = rooms


def register_handlers(sio: SocketIO) -> None:
    @sio.on("connect")
    def on_connect(auth=None):
        conn = authenticate_socket(auth)
        connections(sio)[request.sid] = conn
        if conn.user_id is not None:
            join_room(f"user:{conn.user_id}")
        return True

    @sio.on("disconnect")
    def on_disconnect(reason=None):
        connections(sio).pop(request.sid, None)

    @sio.on("join")
    @socket_event(sio, JoinIn)
    def on_join(data: JoinIn, *, actor: User | DisplayCaller):
        conn = connections(sio)[request.sid]
        if isinstance(actor, DisplayCaller):
            meeting = db.session.get(Meeting, data.meeting_id) if data.meeting_id == actor.meeting_id else None
            if meeting is None:
                raise NotFound(_("This display shows another meeting."))
            roles, user_id = frozenset({"display"}), 0
            _join_rooms(conn, meeting, frozenset())
        else:
            meeting, roles = load_meeting(data.meeting_id, actor)
            user_id = actor.id
            _join_rooms(conn, meeting, roles)
        db.session.refresh(meeting)
        return {"seq": meeting.last_seq, "now": to_local_iso_ms(utcnow()),
                **catch_up(meeting, data.last_seq, user_id, roles)}

    @sio.on("leave")
    @socket_event(sio, LeaveIn)
    def on_leave(data: LeaveIn, *, actor: User):
        rooms = connections(sio)[request.sid].meetings.pop(data.meeting_id, set())
        for room in rooms:
            leave_room(room)
        return {"left": data.meeting_id}


# --- the sweeper ------------------------------------------------------------------------------------------

def sweep_once(sio: SocketIO) -> dict[str, int]:
    """Re-check every socket this worker holds; returns how many were disconnected and removed from rooms."""
    conns = dict(connections(sio))
    if not conns:
        return {"disconnected": 0, "left": 0}
    user_ids = {c.user_id for c in conns.values() if c.user_id is not None}
    # Columns, not entities: this runs twice a second over every socket the worker holds.
    users = {u.id: u for u in db.session.execute(sa.select(
        User.id, User.active, User.session_epoch, User.is_admin).where(User.id.in_(user_ids)))}
    digests = {c.token_digest for c in conns.values() if c.token_digest}
    live_tokens = set(db.session.execute(sa.select(ApiToken.token_hash).where(
        ApiToken.token_hash.in_(digests), ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow())).scalars()) \
        if digests else set()
    meeting_ids = {m for c in conns.values() for m in c.meetings}
    allowed = _allowed_pairs(meeting_ids, user_ids) if meeting_ids and user_ids else set()
    disconnected = left = 0
    display_digests = {c.token_digest for c in conns.values() if c.display_meeting_id is not None}
    live_displays = set(db.session.execute(sa.select(DisplayToken.token_hash).where(
        DisplayToken.token_hash.in_(display_digests), DisplayToken.revoked_at.is_(None))).scalars()) \
        if display_digests else set()
    for sid, conn in conns.items():
        user = users.get(conn.user_id) if conn.user_id is not None else None
        if conn.display_meeting_id is not None:
            valid = conn.token_digest in live_displays
        else:
            valid = user is not None and user.active and (
                conn.epoch == user.session_epoch if conn.epoch is not None else conn.token_digest in live_tokens)
        if not valid:
            sio.server.disconnect(sid, namespace="/")
            connections(sio).pop(sid, None)
            disconnected += 1
            continue
        if conn.display_meeting_id is not None:
            continue
        for meeting_id in [m for m in conn.meetings if (m, conn.user_id) not in allowed and not user.is_admin]:
            for room in conn.meetings.pop(meeting_id):
                sio.server.leave_room(sid, room, namespace="/")
            sio.server.emit("meeting.left", {"meeting_id": meeting_id}, to=sid, namespace="/")
            left += 1
    db.session.rollback()
    return {"disconnected": disconnected, "left": left}


def _allowed_pairs(meeting_ids: set[int], user_ids: set[int]) -> set[tuple[int, int]]:
    """(meeting, user) pairs still entitled to the meeting's room: participants and the body's staff."""
    pairs = set(db.session.execute(sa.select(Participant.meeting_id, Participant.user_id).where(
        Participant.meeting_id.in_(meeting_ids), Participant.user_id.in_(user_ids))).all())
    staff = db.session.execute(sa.select(Meeting.id, BodyMember.user_id).join(
        BodyMember, BodyMember.body_id == Meeting.body_id).where(
        Meeting.id.in_(meeting_ids), BodyMember.user_id.in_(user_ids),
        BodyMember.role.in_(("secretary", "approver")))).all()
    return {tuple(p) for p in pairs} | {tuple(s) for s in staff}


def run_sweeper(app: Flask, sio: SocketIO) -> None:
    """The worker's background loop (started by ``python -m meetings serve``)."""
    while True:
        sio.sleep(SWEEP_SECONDS)
        try:
            with app.app_context():
                sweep_once(sio)
        except Exception:
            log.exception("socket sweep failed")
