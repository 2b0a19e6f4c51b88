"""The fast fan-out (``DirectManager``) and the WebSocket transport under it (``DirectWebSocket``).

A broadcast is encoded and framed once and written straight to the sockets that have nothing queued; it must
reach exactly the sockets engine.io's queue would have reached, with exactly the same bytes. The transport
is checked against wsproto as the client, over a real (gevent) socket pair.
"""
from __future__ import annotations

import json
from types import SimpleNamespace

import gevent
import gevent.event
import gevent.queue
import gevent.socket
import pytest
from engineio import packet as eio_packet
from socketio import packet as sio_packet
from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Ping, Pong, Request, TextMessage)

from meetings.core.events import emit_event
from meetings.core.tx import commit
from meetings.realtime.server import DirectManager, DirectWebSocket, _direct_websockets, ws_frame

# --- framing ------------------------------------------------------------------------------------------------


def _client_and_server():
    client, server = WSConnection(ConnectionType.CLIENT), WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="localhost", target="/socket.io/")))
    assert isinstance(next(server.events()), Request)
    client.receive_data(server.send(AcceptConnection()))
    assert isinstance(next(client.events()), AcceptConnection)
    return client, server


@pytest.mark.parametrize("message", ["", "4", "x" * 125, "x" * 126, "ệ" * 200, "y" * 65535, "z" * 65536,
                                     '42["agenda.current",{"title":"Bế mạc"}]', b"\x00\x01", b"b" * 70000])
def test_a_frame_is_what_wsproto_would_send_and_what_a_client_reads(message):
    client, server = _client_and_server()
    event = TextMessage(data=message) if isinstance(message, str) else BytesMessage(data=message)
    assert ws_frame(message) == server.send(event)
    assert ws_frame(message) == server.send(event)  # the cached frame of the same message
    client.receive_data(ws_frame(message))
    got = list(client.events())
    assert ("" if isinstance(message, str) else b"").join(e.data for e in got) == message
    assert got[-1].message_finished


# --- the fan-out: same packets, same sockets ----------------------------------------------------------------


@pytest.fixture
def sio(app):
    return app.extensions["socketio"]


class RecordingWebSocket:
    """Stands for a client's DirectWebSocket: records the frames written to it directly."""

    def __init__(self, test_client, accept: bool):
        self.test_client, self.accept, self.frames = test_client, accept, []

    def send_now(self, frame: bytes) -> bool:
        if not self.accept:
            return False
        self.frames.append(frame)
        text = _payload(frame)
        assert text[0] == "4"  # an engine.io message carrying one socket.io packet
        pkt = sio_packet.Packet(encoded_packet=text[1:])
        self.test_client.queue.append({"name": pkt.data[0], "args": pkt.data[1:], "namespace": pkt.namespace or "/"})
        return True


def _payload(frame: bytes) -> str:
    """The text of one whole, unmasked text frame."""
    assert frame[0] == 0x81 and frame[1] < 127
    start, length = (2, frame[1]) if frame[1] < 126 else (4, int.from_bytes(frame[2:4], "big"))
    assert len(frame) == start + length
    return frame[start:].decode()


def test_the_manager_is_the_direct_one(sio):
    assert isinstance(sio.server.manager, DirectManager)


def test_direct_and_queued_sockets_get_the_same_bytes_and_only_their_audience(world, sio, app, token_for,
                                                                              monkeypatch):
    meeting = world.meeting("published")
    clients = {name: sio.test_client(app, auth={"token": token_for(user)["Authorization"].split()[1]})
               for name, user in (("chair", world.chair), ("delegate", world.delegate), ("guest", world.guest))}
    for client in clients.values():
        client.emit("join", {"meeting_id": meeting.id}, callback=True)
        client.get_received()

    queued_text: dict[str, list[str]] = {}
    real_send = sio.server._send_eio_packet

    def spy(eio_sid, eio_pkt):
        queued_text.setdefault(eio_sid, []).append(eio_pkt.encode())
        return real_send(eio_sid, eio_pkt)

    monkeypatch.setattr(sio.server, "_send_eio_packet", spy)
    direct = {"chair": RecordingWebSocket(clients["chair"], accept=True),
              "delegate": RecordingWebSocket(clients["delegate"], accept=True),
              "guest": RecordingWebSocket(clients["guest"], accept=False)}  # its queue is busy: falls back
    sockets = _direct_websockets(sio.server.eio)
    for name, ws in direct.items():
        sockets[clients[name].eio_sid] = ws
    try:
        emit_event(meeting.id, "document.published", {"title": "Mật — chỉ đại biểu"},
                   audience={"user_ids": [world.delegate.id]})
        emit_event(meeting.id, "document.published", {"title": "Chủ tọa xem"}, audience={"roles": ["chair"]})
        emit_event(meeting.id, "agenda.current", {"item_id": None, "title": "Bế mạc kỳ họp"})
        commit()
    finally:
        for ws in direct.values():
            sockets.pop(ws.test_client.eio_sid, None)
    first = meeting.last_seq - 2

    def got(name):
        return [(m["name"], m["args"][0]["seq"], m["args"][0].get("title")) for m in clients[name].get_received()]

    assert got("delegate") == [("document.published", first, "Mật — chỉ đại biểu"), ("seq.skip", first, None),
                               ("seq.skip", first + 1, None), ("agenda.current", first + 2, "Bế mạc kỳ họp")]
    assert got("chair") == [("seq.skip", first, None), ("document.published", first + 1, "Chủ tọa xem"),
                            ("seq.skip", first + 1, None), ("agenda.current", first + 2, "Bế mạc kỳ họp")]
    assert got("guest") == [("seq.skip", first, None), ("seq.skip", first + 1, None),
                            ("agenda.current", first + 2, "Bế mạc kỳ họp")]
    # byte for byte: what the chair and the delegate were written directly is what the guest's queue carried
    guest_texts = queued_text[clients["guest"].eio_sid]
    assert [_payload(f) for f in direct["delegate"].frames][1:] == guest_texts
    assert _payload(direct["chair"].frames[-1]) == guest_texts[-1]
    assert json.loads(guest_texts[-1][2:])[1]["title"] == "Bế mạc kỳ họp"
    # nothing for the direct sockets went through the queue
    assert clients["chair"].eio_sid not in queued_text and clients["delegate"].eio_sid not in queued_text
    for client in clients.values():
        client.disconnect()


def test_callbacks_binary_and_skip_sid_keep_the_library_path(sio, monkeypatch):
    manager = sio.server.manager
    sent = []
    monkeypatch.setattr(sio.server, "_send_eio_packet", lambda eio_sid, pkt: sent.append((eio_sid, pkt.encode())))
    manager.basic_enter_room("s1", "/", None, eio_sid="e1")
    manager.basic_enter_room("s1", "/", "room", eio_sid="e1")
    manager.basic_enter_room("s2", "/", None, eio_sid="e2")
    manager.basic_enter_room("s2", "/", "room", eio_sid="e2")
    frames = []
    ws = SimpleNamespace(send_now=lambda frame: frames.append(frame) or True)
    sockets = _direct_websockets(sio.server.eio)
    sockets["e1"] = sockets["e2"] = ws
    try:
        manager.emit("x", {"t": "Đà Nẵng"}, "/", room="room", skip_sid="s2")
        assert [_payload(f) for f in frames] == ['42["x",{"t":"\\u0110\\u00e0 N\\u1eb5ng"}]'] and not sent
        frames.clear()
        manager.emit("x", b"\x00raw", "/", room="room")  # binary: attachments go through the queue
        assert not frames and [s[0] for s in sent] == ["e1", "e1", "e2", "e2"]
        assert sent[0][1].startswith("451-") and sent[1][1] == b"\x00raw"
    finally:
        sockets.clear()
        for sid in ("s1", "s2"):
            manager.basic_disconnect(sid, "/")


def test_the_sweep_judges_what_a_socket_had_joined_when_it_began(world, sio, app, token_for, monkeypatch):
    """The sweep lets other greenlets run between its queries; a join that lands meanwhile is not judged
    against entitlements read before it (it would be wrongly removed), but by the next sweep."""
    from meetings.realtime.server import connections, meeting_room, sweep_once

    first, second = world.meeting("published"), world.meeting("published", title="Phiên chiều")
    tablet = sio.test_client(app, auth={"token": token_for(world.delegate)["Authorization"].split()[1]})
    assert tablet.emit("join", {"meeting_id": first.id}, callback=True)["seq"] >= 1
    sid = sio.server.manager.sid_from_eio_sid(tablet.eio_sid, "/")
    conn = connections(sio)[sid]
    yields = []

    def sleep(_seconds):  # a join of the second meeting completes while the sweep waits
        if not yields:
            rooms = {meeting_room(second.id), meeting_room(second.id, "delegate")}
            for room in rooms:
                sio.server.enter_room(sid, room, namespace="/")
            conn.meetings[second.id] = rooms
        yields.append(1)

    monkeypatch.setattr(sio, "sleep", sleep)
    assert sweep_once(sio) == {"disconnected": 0, "left": 0}
    assert yields and set(conn.meetings) == {first.id, second.id}
    assert sweep_once(sio) == {"disconnected": 0, "left": 0}  # judged now: a participant of both
    assert set(conn.meetings) == {first.id, second.id}
    tablet.disconnect()


# --- the transport over a real socket pair ------------------------------------------------------------------


class FakeEngineIOSocket:
    """What DirectWebSocket reads of engine.io's Socket; ``handler`` plays its _websocket_handler."""

    def __init__(self, handler):
        self.sid, self.queue = "eio-1", gevent.queue.JoinableQueue()
        self.upgraded, self.upgrading, self.closing, self.closed = True, False, False, False
        self._handler = handler

    def _websocket_handler(self, ws):
        return self._handler(ws)


class Peer:
    """The client end: wsproto over the other half of the socket pair."""

    def __init__(self, sock):
        self.sock, self.ws = sock, WSConnection(ConnectionType.CLIENT)
        self.request = self.ws.send(Request(host="tablet.local", target="/socket.io/?EIO=4&transport=websocket",
                                            extensions=[]))

    def environ(self, server_sock) -> dict:
        head = self.request.decode("latin-1").split("\r\n")[1:]
        env = {"HTTP_" + k.upper().replace("-", "_"): v.strip() for k, v in (h.split(":", 1) for h in head if h)}
        env["HTTP_SEC_WEBSOCKET_EXTENSIONS"] = "permessage-deflate; client_max_window_bits"  # as browsers offer
        env["phonghop.socket"] = server_sock
        return env

    def events(self, count: int, timeout: float = 5) -> list:
        out = []
        with gevent.Timeout(timeout):
            while len(out) < count:
                out.extend(e for e in self.ws.events() if not (isinstance(e, TextMessage) and not e.message_finished))
                if len(out) < count:
                    data = self.sock.recv(65536)
                    if not data:
                        break
                    self.ws.receive_data(data)
        return out

    def send(self, event) -> None:
        self.sock.sendall(self.ws.send(event))


@pytest.fixture
def pair():
    a, b = gevent.socket.socketpair()
    yield a, b
    a.close()
    b.close()


def _serve(pair, handler, max_size=64 * 1024):
    server_sock, client_sock = pair
    eio = SimpleNamespace(max_http_buffer_size=max_size)
    fake = FakeEngineIOSocket(handler)
    ws = DirectWebSocket(fake._websocket_handler, eio)
    peer = Peer(client_sock)
    responses = []
    task = gevent.spawn(ws, peer.environ(server_sock), lambda status, headers: responses.append(status))
    peer.ws.receive_data(client_sock.recv(65536))
    accepted = next(peer.ws.events())
    assert isinstance(accepted, AcceptConnection) and accepted.extensions == []  # deflate is never accepted
    return ws, fake, peer, task, eio


def test_messages_pings_fragments_and_the_close_handshake(pair):
    received = []

    def handler(ws):
        while (message := ws.wait()) is not None:
            received.append(message)
            if message == "echo":
                ws.send("3echo")
        return []

    ws, _fake, peer, task, eio = _serve(pair, handler)
    assert _direct_websockets(eio)["eio-1"] is ws
    peer.send(TextMessage(data="2"))
    peer.send(TextMessage(data='42["join",{"meeting_id":1,', message_finished=False))
    peer.send(TextMessage(data='"t":"Họp"}]'))
    peer.send(BytesMessage(data=b"\x01\x02"))
    peer.send(Ping(payload=b"hi"))
    peer.send(TextMessage(data="echo"))
    got = peer.events(2)
    assert isinstance(got[0], Pong) and got[0].payload == b"hi"
    assert isinstance(got[1], TextMessage) and got[1].data == "3echo"
    peer.send(CloseConnection(code=1000))
    closing = peer.events(1)
    assert isinstance(closing[0], CloseConnection) and closing[0].code == 1000
    assert task.get(timeout=5) == []
    assert received == ["2", '42["join",{"meeting_id":1,"t":"Họp"}]', b"\x01\x02", "echo"]
    assert "eio-1" not in _direct_websockets(eio)
    assert pair[1].recv(10) == b""  # the HTTP connection ended with the WebSocket


def test_an_oversized_message_closes_with_1009(pair):
    def handler(ws):
        assert ws.wait() is None
        return []

    _ws, _fake, peer, task, _eio = _serve(pair, handler, max_size=100)
    peer.send(TextMessage(data="x" * 60, message_finished=False))
    peer.send(TextMessage(data="x" * 60))
    got = peer.events(1)
    assert isinstance(got[0], CloseConnection) and got[0].code == 1009
    task.get(timeout=5)


def test_send_now_writes_in_order_and_only_when_nothing_is_before_it(pair):
    release = gevent.event.Event()

    def handler(ws):
        release.wait(5)
        ws.close()  # engine.io's writer closes the WebSocket when the socket ends
        assert ws.wait() is None
        return []

    ws, fake, peer, task, _eio = _serve(pair, handler)
    frame = ws_frame('42["agenda.current",{"seq":7}]')
    assert ws.send_now(frame)
    fake.queue.put(eio_packet.Packet(eio_packet.MESSAGE, "2queued"))
    assert not ws.send_now(frame)  # something is queued: it must go first, so the caller queues too
    fake.queue.get()
    with ws._lock:  # the writer is in the middle of a frame
        assert not ws.send_now(frame)
    fake.upgrading = True
    assert not ws.send_now(frame)
    fake.upgrading = False
    ws.send("3writer")
    assert ws.send_now(frame)
    got = peer.events(3)
    assert [e.data for e in got] == ['42["agenda.current",{"seq":7}]', "3writer", '42["agenda.current",{"seq":7}]']
    release.set()
    closing = peer.events(1)
    assert isinstance(closing[0], CloseConnection)
    assert not ws.send_now(frame)  # closed: nothing more is written
    with pytest.raises(OSError):
        ws.send("late")
    peer.send(closing[0].response())
    task.get(timeout=5)


def test_a_bad_upgrade_request_gets_400(pair):
    server_sock, _client_sock = pair
    ws = DirectWebSocket(FakeEngineIOSocket(lambda ws: [])._websocket_handler, SimpleNamespace(max_http_buffer_size=10))
    statuses = []
    body = ws({"HTTP_HOST": "x", "phonghop.socket": server_sock}, lambda status, headers: statuses.append(status))
    assert statuses == ["400 Bad Request"] and body


# --- the real server --------------------------------------------------------------------------------------


def test_live_a_tablet_upgraded_from_polling_and_one_on_websocket_get_the_same_events(shared_demo_server):
    import time

    import socketio

    from tests.realtime.clients import Tablet, api, login

    base = shared_demo_server.url
    secretary, delegate = login(base, "thuky"), login(base, "daibieu2")
    direct = Tablet(base, delegate)
    upgraded = socketio.Client(reconnection=False)
    got: list = []
    upgraded.on("*", lambda event, data: got.append((event, data)))
    upgraded.connect(base, auth={"token": delegate}, transports=["polling", "websocket"], wait_timeout=10)
    try:
        deadline = time.monotonic() + 10
        while upgraded.transport() != "websocket" and time.monotonic() < deadline:  # engine.io upgrades by itself
            time.sleep(0.05)
        assert upgraded.transport() == "websocket"
        seq = direct.call("join", {"meeting_id": 1})["seq"]
        assert upgraded.call("join", {"meeting_id": 1}, timeout=10)["seq"] == seq
        for title in ("Khai mạc — phiên sáng", "Bế mạc kỳ họp thứ 9"):
            assert api(base, "PATCH", "/api/v1/meetings/1/agenda/1", secretary, {"title": title}).ok
        direct.wait_for(lambda r: len(r) >= 2)
        deadline = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got == direct.received
        assert [(e, d["seq"]) for e, d in got] == [("agenda.updated", seq + 1), ("agenda.updated", seq + 2)]
        assert got[-1][1]["items"][0]["title"] == "Bế mạc kỳ họp thứ 9"
    finally:
        upgraded.eio.disconnect(abort=True)
        direct.close()
