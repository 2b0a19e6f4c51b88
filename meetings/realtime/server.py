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
import socket
import struct
from dataclasses import dataclass, field
from functools import wraps
from typing import Annotated, Any, Callable

import gevent
import socketio
import sqlalchemy as sa
from engineio import packet as eio_packet
from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_socketio import ConnectionRefusedError, SocketIO, join_room, leave_room
from gevent.lock import Semaphore
from pydantic import Field, ValidationError
from socketio import packet as sio_packet
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import AcceptConnection, CloseConnection, Message, Ping, Request, TextMessage
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import RemoteProtocolError

from meetings.auth.models import ApiToken, User
from meetings.bodies.models import BodyMember
from meetings.config import ConfigError
from meetings.core.db import one_of, utcnow
from meetings.core.errors import BadRequest, DomainError, NotAuthenticated, NotFound
from meetings.core.events import CommittedEvent
from meetings.core.schemas import Id, Input
from meetings.core.tx import add_after_commit_hook, begin_write, commit
from meetings.extensions import db
from meetings.meeting.access import load_meeting
from meetings.meeting.models import DisplayToken, Meeting, Participant
from meetings.realtime.credentials import credential_ok, live_api_tokens
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
    async_mode = _async_mode()
    manager = (DirectRedisManager(redis_url, channel=app.config["REDIS_CHANNEL"]) if redis_url
               else DirectManager())
    sio = SocketIO(app, async_mode=async_mode, client_manager=manager, cors_allowed_origins=origins,
                   ping_interval=10, ping_timeout=10, max_http_buffer_size=64 * 1024,
                   logger=False, engineio_logger=False)
    if async_mode == "gevent":
        eio = sio.server.eio
        eio._async = {**eio._async, "websocket": DirectWebSocket}  # this server's WebSockets only
    app.extensions["socketio"] = sio
    app.wsgi_app = _without_websocket_compression(app.wsgi_app)  # type: ignore[method-assign]
    register_handlers(sio)
    from meetings.realtime.follow import register_follow_handlers
    from meetings.voting.sockets import register_ballot_handlers
    register_follow_handlers(sio)
    register_ballot_handlers(sio)
    add_after_commit_hook(broadcast)
    return sio


def _without_websocket_compression(wsgi_app):
    """Decline permessage-deflate: every browser offers it and simple-websocket accepts it, which costs each
    tablet a zlib compressor (~100 KB resident) and every broadcast a deflate per socket, for ~150-byte
    messages (measured by bench/fleet: RSS 187 -> 88 KB per tablet; socket.io's Node server declines too).
    ``DirectWebSocket`` never accepts it; this covers simple-websocket wherever that one still serves."""
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


# --- the WebSocket transport and the fan-out (gevent) ------------------------------------------------------
#
# Measured by bench/fleet (500 tablets): one broadcast used to cost ~36 µs of CPU per socket, mostly outside
# the kernel's send: a queue put, a writer greenlet woken with a timer, wsproto framing the same text 500
# times. And every socket had a fourth greenlet (simple-websocket's reader), each holding a saved stack and a
# Python data-stack page. So: a broadcast is encoded and framed once, and written to every socket that has
# nothing queued, from the broadcasting greenlet; the socket's own greenlet reads it (no reader greenlet).

_WS_RECV_BYTES = 4096
_last_frame: list = [None, b""]  # (message, frame): a broadcast's fallback writers frame its text once


def ws_frame(message: str | bytes) -> bytes:
    """One unfragmented, unmasked WebSocket frame (server to client; no extension is ever negotiated)."""
    if message is _last_frame[0]:
        return _last_frame[1]
    if isinstance(message, str):
        payload, first = message.encode(), 0x81  # FIN + text
    else:
        payload, first = bytes(message), 0x82  # FIN + binary
    n = len(payload)
    if n < 126:
        header = bytes((first, n))
    elif n < 1 << 16:
        header = struct.pack("!BBH", first, 126, n)
    else:
        header = struct.pack("!BBQ", first, 127, n)
    frame = header + payload
    _last_frame[:] = (message, frame)
    return frame


def _direct_websockets(eio) -> dict[str, "DirectWebSocket"]:
    """engine.io sid -> open WebSocket, for the engine.io server ``eio``."""
    return eio.__dict__.setdefault("_phonghop_websockets", {})


class DirectWebSocket:
    """engine.io's WebSocket interface (``wait``/``send``/``close``) on the HTTP connection's own socket.

    Replaces simple-websocket under our gevent server (``environ["phonghop.socket"]``, set by ``python -m
    meetings serve``); anywhere else the library's class serves. The greenlet that runs the request reads
    the socket itself, so a tablet costs no reader greenlet. Every frame is written whole, under a lock:
    the engine.io writer and ``send_now`` (a broadcast) never interleave. wsproto parses what the client sends.
    """

    __slots__ = ("app", "server", "eio_socket", "_lock", "_open", "_inbox", "_parts", "_size", "_sock", "_conn")

    def __init__(self, handler, server):
        self.app = handler  # engine.io's Socket._websocket_handler
        self.server = server
        self.eio_socket = getattr(handler, "__self__", None)
        self._lock = Semaphore()
        self._open = False
        self._inbox: list = []  # whole messages not yet handed to engine.io (rarely more than one)
        self._parts: list = []  # the fragments of the message being received
        self._size = 0

    def __call__(self, environ, start_response):
        sock = environ.get("phonghop.socket")
        if sock is None or self.eio_socket is None:
            from engineio.async_drivers.gevent import WebSocketWSGI
            return WebSocketWSGI(self.app, self.server)(environ, start_response)
        conn = WSConnection(ConnectionType.SERVER)
        try:
            conn.receive_data(_handshake_bytes(environ))
            request = next((e for e in conn.events() if isinstance(e, Request)), None)
        except RemoteProtocolError:
            request = None
        if request is None:
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"not a valid WebSocket upgrade"]
        sock.sendall(conn.send(AcceptConnection()))  # no extension: frames stay plain (see ws_frame)
        self._sock = sock  # engine.io sets its timeout: ping interval + timeout, so a silent peer ends
        self._conn = conn.connection  # the frame protocol alone: the handshake's HTTP state is dropped
        del conn, request
        self._open = True
        sid = self.eio_socket.sid
        sockets = _direct_websockets(self.server)
        sockets[sid] = self
        try:
            return self.app(self)
        finally:
            if sockets.get(sid) is self:
                del sockets[sid]
            self._open = False
            try:  # the HTTP connection ends with the WebSocket (pywsgi would wait for another request)
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # engine.io's side

    def wait(self):
        """The next whole message (str or bytes), or None once the connection is over."""
        while not self._inbox:
            if not self._receive():
                return None
        return self._inbox.pop(0)

    def send(self, message) -> None:
        frame = ws_frame(message)
        with self._lock:
            if not self._open:
                raise OSError("the WebSocket is closed")
            self._sock.sendall(frame)

    def close(self) -> None:
        self._send_control(CloseConnection(code=CloseReason.NORMAL_CLOSURE))

    # the fan-out's side

    def send_now(self, frame: bytes) -> bool:
        """Write ``frame`` now if nothing is queued or being written before it; False: the caller queues it."""
        s = self.eio_socket
        if (not self._open or self._lock.locked() or s.queue.qsize() or not s.upgraded or s.upgrading
                or s.closing or s.closed):
            return False
        try:
            sent = self._sock.send(frame, 0, timeout=0.0)
        except OSError:  # would block (or failed): the queued path writes it, or finds the socket gone
            return False
        if sent < len(frame):  # rare on a live socket; the rest goes before anything else
            self._lock.acquire()
            gevent.spawn(self._send_rest, memoryview(frame)[sent:])
        return True

    def _send_rest(self, rest) -> None:
        try:
            self._sock.sendall(rest)
        except OSError:
            self._abort()
        finally:
            self._lock.release()

    # the protocol

    def _receive(self) -> bool:
        conn = self._conn
        try:
            data = self._sock.recv(_WS_RECV_BYTES) if self._open or conn.state is not ConnectionState.CLOSED else b""
        except OSError:  # reset, or silent for longer than the timeout
            data = b""
        if not data:
            self._open = False
            return False
        conn.receive_data(data)
        limit = self.server.max_http_buffer_size
        for event in conn.events():
            if isinstance(event, Message):
                self._parts.append(event.data)
                self._size += len(event.data)
                if self._size > limit:
                    self._parts, self._size = [], 0
                    self._send_control(CloseConnection(code=CloseReason.MESSAGE_TOO_BIG))
                    return False
                if event.message_finished:
                    parts, self._parts, self._size = self._parts, [], 0
                    self._inbox.append(parts[0] if len(parts) == 1 else
                                       ("" if isinstance(event, TextMessage) else b"").join(parts))
            elif isinstance(event, Ping):
                self._send_control(event.response())
            elif isinstance(event, CloseConnection):  # the peer's, or a framing error of its
                self._send_control(event.response())
                self._open = False
                return bool(self._inbox)
        return True

    def _send_control(self, event) -> None:
        with self._lock:
            if self._conn.state not in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
                return
            if isinstance(event, CloseConnection):
                self._open = False
            try:
                self._sock.sendall(self._conn.send(event))
            except OSError:
                self._abort()

    def _abort(self) -> None:
        self._open = False
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # the reading greenlet sees the end
        except OSError:
            pass


def _handshake_bytes(environ) -> bytes:
    lines = [b"GET / HTTP/1.1"]
    for key, value in environ.items():
        if key.startswith("HTTP_") and key != "HTTP_SEC_WEBSOCKET_EXTENSIONS":
            lines.append(f"{key[5:].replace('_', '-')}: {value}".encode("latin-1"))
    return b"\r\n".join(lines) + b"\r\n\r\n"


class DirectManager(socketio.Manager):
    """The local fan-out: encode a broadcast once and write it straight to every WebSocket that has nothing
    queued (``DirectWebSocket.send_now``); any other recipient gets the same packet through engine.io's queue.
    """

    def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        room = to or room
        sockets = _direct_websockets(self.server.eio) if self.server is not None else None
        if callback or not sockets or namespace not in self.rooms:
            return super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        if isinstance(encoded, list):  # binary attachments: several engine.io packets
            return super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)
        eio_pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        frame = ws_frame(eio_pkt.encode())
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            ws = sockets.get(eio_sid)
            if ws is None or not ws.send_now(frame):
                self.server._send_eio_packet(eio_sid, eio_pkt)


class DirectRedisManager(socketio.RedisManager, DirectManager):
    """Several workers: the message queue carries the broadcast; each worker fans it out as above."""


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
    display = db.session.execute(sa.select(DisplayToken).where(DisplayToken.token_hash == conn.token_digest)) \
        .scalar_one_or_none()
    return display is not None and display.revoked_at is None


def credential_valid(conn: Connection, user: User) -> bool:
    live = live_api_tokens([conn.token_digest]) if conn.epoch is None else set()
    return credential_ok(user, conn.epoch, conn.token_digest, live)


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
    """Re-check every socket this worker holds; returns how many were disconnected and removed from rooms.

    One query per kind of check for all sockets. Between queries the sweep lets other greenlets run (with
    500 sockets each query takes about a millisecond on SQLite), so what it decides about a socket is based on
    what the socket had joined when the sweep began: a meeting joined meanwhile is checked next time.
    """
    conns = {sid: (conn, tuple(conn.meetings)) for sid, conn in connections(sio).items()}
    if not conns:
        return {"disconnected": 0, "left": 0}
    user_ids = {c.user_id for c, _m in conns.values() if c.user_id is not None}
    # Columns, not entities: this runs twice a second over every socket the worker holds.
    users = {u.id: u for u in db.session.execute(sa.select(
        User.id, User.active, User.session_epoch, User.is_admin).where(one_of(User.id, user_ids)))} \
        if user_ids else {}
    sio.sleep(0)
    live_tokens = live_api_tokens(c.token_digest for c, _m in conns.values() if c.display_meeting_id is None)
    sio.sleep(0)
    meeting_ids = {m for _c, joined in conns.values() for m in joined}
    allowed = _allowed_pairs(sio, meeting_ids, user_ids) if meeting_ids and user_ids else set()
    display_digests = {c.token_digest for c, _m in conns.values() if c.display_meeting_id is not None}
    live_displays = set(db.session.execute(sa.select(DisplayToken.token_hash).where(
        one_of(DisplayToken.token_hash, display_digests), DisplayToken.revoked_at.is_(None))).scalars()) \
        if display_digests else set()
    db.session.rollback()
    disconnected = left = 0
    for sid, (conn, joined) in conns.items():
        user = users.get(conn.user_id) if conn.user_id is not None else None
        if conn.display_meeting_id is not None:
            valid = conn.token_digest in live_displays
        else:
            valid = credential_ok(user, conn.epoch, conn.token_digest, live_tokens)
        if not valid:
            sio.server.disconnect(sid, namespace="/")
            connections(sio).pop(sid, None)
            disconnected += 1
            continue
        if conn.display_meeting_id is not None or user.is_admin:
            continue
        for meeting_id in [m for m in joined if (m, conn.user_id) not in allowed and m in conn.meetings]:
            for room in conn.meetings.pop(meeting_id):
                sio.server.leave_room(sid, room, namespace="/")
            sio.server.emit("meeting.left", {"meeting_id": meeting_id}, to=sid, namespace="/")
            left += 1
    return {"disconnected": disconnected, "left": left}


def _allowed_pairs(sio: SocketIO, meeting_ids: set[int], user_ids: set[int]) -> set[tuple[int, int]]:
    """(meeting, user) pairs still entitled to the meeting's room: participants and the body's staff."""
    pairs = set(db.session.execute(sa.select(Participant.meeting_id, Participant.user_id).where(
        one_of(Participant.meeting_id, meeting_ids), one_of(Participant.user_id, user_ids))).all())
    sio.sleep(0)
    staff = db.session.execute(sa.select(Meeting.id, BodyMember.user_id).join(
        BodyMember, BodyMember.body_id == Meeting.body_id).where(
        one_of(Meeting.id, meeting_ids), one_of(BodyMember.user_id, user_ids),
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
