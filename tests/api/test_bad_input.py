"""Bad input never gets a 500 and never writes: every refusal is problem+json 4xx with a readable detail.

The catalogue below names every write endpoint with a valid body; each test breaks that body (or the URL)
one way at a time, checks the response, and checks that no table changed. Failures are collected so one run
lists every broken case, not just the first.
"""
from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from meetings.agenda.models import AgendaItem
from meetings.agenda.schemas import AgendaItemCreate, AgendaItemPatch, AgendaOrderIn, CurrentItemIn
from meetings.attendance.operations import give_proxy
from meetings.attendance.schemas import CheckIn, CheckOut, Mark, ProxyIn
from meetings.auth.schemas import LoginIn, UserCreate, UserPatch
from meetings.bodies.models import BodyMember
from meetings.bodies.schemas import BodyCreate, BodyMemberIn, BodyPatch
from meetings.core.tx import commit
from meetings.extensions import db
from meetings.meeting.models import Participant
from meetings.meeting.api import DisplayIn
from meetings.meeting.operations import create_display, create_session
from meetings.meeting.schemas import MeetingCreate, MeetingPatch, ParticipantIn, SessionCreate, TransitionIn
from meetings.speakers.operations import request_floor
from meetings.speakers.schemas import SpeakerOrderIn, SpeakerRequestIn
from meetings.voting.operations import create_poll, open_poll
from meetings.minutes.schemas import DraftIn, ExternalFinishIn, ExternalStartIn, SignIn
from meetings.voting.schemas import BallotIn, PollIn
from tests.fixtures.factories import row_counts
from tests.signing.pdfgen import sample_pdf

HUGE = "x" * 200_000


@dataclass
class Call:
    name: str
    method: str
    path: str  # placeholders: {m} meeting, {item} agenda item, {pid} participant, {sid} session, {user}, {body},
    #            {member} body membership, {disp} hall display, {proxy} proxy, {rid} speaker request,
    #            {voter} a voting member (the chair), {poll} an open named poll
    actor: str | None  # the world member who may do this (None: no authentication)
    schema: type[BaseModel] | None = None
    body: dict[str, Any] | None = None  # a valid body, with {placeholders} in string values resolved per scene
    ok: tuple[int, ...] = (200, 201, 204)  # what the valid call returns
    datetimes: tuple[str, ...] = ()
    multipart: bool = False
    extra: dict = field(default_factory=dict)


WRITES = [
    Call("login", "POST", "/api/v1/auth/login", None, LoginIn, {"username": "ai.do", "password": "sai"}, ok=(401,)),
    Call("create user", "POST", "/api/v1/users", "admin", UserCreate,
         {"username": "nguoi.moi", "full_name": "Người mới", "title": "Chuyên viên", "email": "moi@example.vn",
          "is_admin": False}),
    Call("patch user", "PATCH", "/api/v1/users/{user}", "admin", UserPatch,
         {"full_name": "Tên mới", "title": "T", "email": "e@x.vn", "is_admin": False, "active": True, "locale": "vi"}),
    Call("create body", "POST", "/api/v1/bodies", "admin", BodyCreate,
         {"name": "Ban Kinh tế", "short_name": "BKT", "kind": "board", "quorum_rule": "fixed", "quorum_fixed": 3,
          "default_vote_rule": "simple"}),
    Call("patch body", "PATCH", "/api/v1/bodies/{body}", "admin", BodyPatch,
         {"name": "Tên hội đồng mới", "short_name": "HĐ", "quorum_rule": "fixed", "quorum_fixed": 5}),
    Call("add body member", "POST", "/api/v1/bodies/{body}/members", "admin", BodyMemberIn,
         {"user_id": "{user}", "role": "member"}),
    Call("create meeting", "POST", "/api/v1/meetings", "secretary", MeetingCreate,
         {"body_id": "{body}", "title": "Kỳ họp mới", "number": "12", "description": "Mô tả", "place": "Phòng 1",
          "starts_at": "2026-12-20T08:00:00+07:00", "ends_at": "2026-12-20T11:00:00+07:00",
          "is_closed_session": False}, datetimes=("starts_at", "ends_at")),
    Call("patch meeting", "PATCH", "/api/v1/meetings/{m}", "secretary", MeetingPatch,
         {"title": "Tên mới", "number": "13", "description": "Mô tả mới", "place": "Phòng 2",
          "starts_at": "2026-12-01T07:30:00+07:00", "is_closed_session": True}, datetimes=("starts_at", "ends_at")),
    Call("transition", "POST", "/api/v1/meetings/{m}/transitions", "chair", TransitionIn,
         {"action": "pause", "comment": "Giải lao"}),
    Call("add participant", "POST", "/api/v1/meetings/{m}/participants", "secretary", ParticipantIn,
         {"user_id": "{user}", "role": "delegate", "can_vote": True, "vote_weight": "2.5", "seat": "A1"}),
    Call("create session", "POST", "/api/v1/meetings/{m}/sessions", "secretary", SessionCreate,
         {"title": "Phiên chiều", "starts_at": "2026-12-01T13:30:00+07:00", "ends_at": "2026-12-01T17:00:00+07:00"},
         datetimes=("starts_at", "ends_at")),
    Call("add agenda item", "POST", "/api/v1/meetings/{m}/agenda", "secretary", AgendaItemCreate,
         {"title": "Mục mới", "description": "Mô tả", "presenter": "Giám đốc Sở", "presenter_user_id": "{user}",
          "planned_minutes": 15, "parent_id": "{item}"}),
    Call("patch agenda item", "PATCH", "/api/v1/meetings/{m}/agenda/{item}", "secretary", AgendaItemPatch,
         {"title": "Tên mục mới", "description": "D", "presenter": "P", "presenter_user_id": "{user}",
          "planned_minutes": 30}),
    Call("reorder agenda", "PUT", "/api/v1/meetings/{m}/agenda/order", "secretary", AgendaOrderIn,
         {"items": [{"id": "{item2}"}, {"id": "{item}", "children": []}]}),
    Call("set current item", "PUT", "/api/v1/meetings/{m}/agenda/current", "chair", CurrentItemIn,
         {"item_id": "{item}"}),
    Call("create display", "POST", "/api/v1/meetings/{m}/displays", "secretary", DisplayIn,
         {"label": "Màn hình hội trường"}),
    # The session is planned, not open: valid check-ins are refused by the rules (409), bad ones by the schema.
    Call("check in", "POST", "/api/v1/meetings/{m}/attendance/check-in", "delegate", CheckIn,
         {"session_id": "{sid}", "method": "qr", "code": "123456"}, ok=(409,)),
    Call("check out", "POST", "/api/v1/meetings/{m}/attendance/check-out", "delegate", CheckOut,
         {"session_id": "{sid}", "method": "tablet"}, ok=(409,)),
    Call("mark attendance", "POST", "/api/v1/meetings/{m}/attendance/mark", "secretary", Mark,
         {"session_id": "{sid}", "user_id": "{voter}", "status": "absent", "absence": "excused",
          "reason": "Đi công tác"}, ok=(409,)),
    Call("give proxy", "POST", "/api/v1/meetings/{m}/proxies", "delegate", ProxyIn,
         {"session_id": "{sid}", "holder_user_id": "{voter}"}, ok=(409,)),  # the chair already holds one
    Call("request the floor", "POST", "/api/v1/meetings/{m}/speakers", "delegate2", SpeakerRequestIn,
         {"kind": "question", "agenda_item_id": "{item}"}, ok=(201,)),
    Call("reorder speakers", "PUT", "/api/v1/meetings/{m}/speakers/order", "chair", SpeakerOrderIn,
         {"request_ids": ["{rid}"]}),
    Call("create poll", "POST", "/api/v1/meetings/{m}/polls", "secretary", PollIn,
         {"title": "Biểu quyết thông qua", "secret": True, "agenda_item_id": "{item}", "rule": "two_thirds_all",
          "duration_seconds": 120, "allow_change": False}),
    Call("cast ballot", "POST", "/api/v1/meetings/{m}/polls/{poll}/ballots", "delegate", BallotIn,
         {"choice": "yes", "idempotency_key": "catalogue-ballot-key-0001"}),
    Call("save minutes", "PUT", "/api/v1/meetings/{m}/minutes", "secretary", DraftIn,
         {"agenda_item_id": "{item}", "field": "notes", "text": "Ghi chép", "base_version": 0}),
    Call("sign minutes", "POST", "/api/v1/meetings/{m}/minutes/sign", "secretary", SignIn, {"passphrase": "x"},
         ok=(409,)),
    Call("start device signature", "POST", "/api/v1/meetings/{m}/minutes/external-signatures", "secretary",
         ExternalStartIn, {"certificate_pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
         ok=(409,)),
    Call("finish device signature", "POST", "/api/v1/meetings/{m}/minutes/external-signatures/{rid}", "secretary",
         ExternalFinishIn, {"signature": "AAAA"}, ok=(404,)),
]

NO_BODY = [
    Call("get meeting", "GET", "/api/v1/meetings/{m}", "delegate"),
    Call("list participants", "GET", "/api/v1/meetings/{m}/participants", "delegate"),
    Call("remove participant", "DELETE", "/api/v1/meetings/{m}/participants/{pid}", "secretary"),
    Call("list sessions", "GET", "/api/v1/meetings/{m}/sessions", "delegate"),
    Call("open session", "POST", "/api/v1/meetings/{m}/sessions/{sid}/open", "chair"),
    Call("close session", "POST", "/api/v1/meetings/{m}/sessions/{sid}/close", "chair", ok=(409,)),
    Call("get agenda", "GET", "/api/v1/meetings/{m}/agenda", "delegate"),
    Call("delete agenda item", "DELETE", "/api/v1/meetings/{m}/agenda/{item}", "secretary"),
    Call("events", "GET", "/api/v1/meetings/{m}/events", "delegate"),
    Call("audit verify", "GET", "/api/v1/audit/verify?meeting_id={m}", "chair"),
    Call("import participants", "POST", "/api/v1/meetings/{m}/participants/import", "secretary", multipart=True,
         ok=(201,)),
    Call("get user", "GET", "/api/v1/users/{user}", "admin"),
    Call("get body", "GET", "/api/v1/bodies/{body}", "secretary"),
    Call("remove body member", "DELETE", "/api/v1/bodies/{body}/members/{member}", "admin"),
    Call("list displays", "GET", "/api/v1/meetings/{m}/displays", "secretary"),
    Call("list documents", "GET", "/api/v1/meetings/{m}/documents", "delegate"),
    Call("upload document", "POST", "/api/v1/meetings/{m}/documents", "secretary", multipart=True,
         extra={"upload": (sample_pdf(1), "tai-lieu.pdf")}),
    Call("revoke display", "DELETE", "/api/v1/meetings/{m}/displays/{disp}", "secretary"),
    Call("attendance", "GET", "/api/v1/meetings/{m}/attendance", "delegate"),
    Call("attendance export", "GET", "/api/v1/meetings/{m}/attendance/export", "secretary"),
    Call("attendance summary", "GET", "/api/v1/meetings/{m}/attendance/summary", "chair"),
    Call("room code", "GET", "/api/v1/meetings/{m}/attendance/qr", "chair", ok=(409,)),
    Call("open roll call", "POST", "/api/v1/meetings/{m}/sessions/{sid}/roll-calls/start/open", "chair", ok=(409,)),
    Call("close roll call", "POST", "/api/v1/meetings/{m}/sessions/{sid}/roll-calls/start/close", "chair",
         ok=(409,)),
    Call("list proxies", "GET", "/api/v1/meetings/{m}/proxies", "delegate"),
    Call("withdraw proxy", "DELETE", "/api/v1/meetings/{m}/proxies/{proxy}", "delegate2"),
    Call("speakers", "GET", "/api/v1/meetings/{m}/speakers", "delegate"),
    Call("withdraw my requests", "DELETE", "/api/v1/meetings/{m}/speakers", "delegate"),
    Call("withdraw a request", "DELETE", "/api/v1/meetings/{m}/speakers/{rid}", "delegate"),
    Call("give the floor", "POST", "/api/v1/meetings/{m}/speakers/{rid}/grant", "chair"),
    Call("end a speech", "POST", "/api/v1/meetings/{m}/speakers/{rid}/finish", "chair", ok=(409,)),
    Call("list polls", "GET", "/api/v1/meetings/{m}/polls", "delegate"),
    Call("get poll", "GET", "/api/v1/meetings/{m}/polls/{poll}", "delegate"),
    Call("open poll", "POST", "/api/v1/meetings/{m}/polls/{poll}/open", "chair", ok=(409,)),
    Call("close poll", "POST", "/api/v1/meetings/{m}/polls/{poll}/close", "chair"),
    Call("poll result", "GET", "/api/v1/meetings/{m}/polls/{poll}/result", "delegate", ok=(409,)),
    Call("poll receipts", "GET", "/api/v1/meetings/{m}/polls/{poll}/receipts", "delegate", ok=(409,)),
    Call("poll receipt", "GET", "/api/v1/meetings/{m}/polls/{poll}/receipts/abc123", "delegate", ok=(409,)),
    Call("minutes", "GET", "/api/v1/meetings/{m}/minutes", "chair"),
    Call("minutes revisions", "GET", "/api/v1/meetings/{m}/minutes/revisions", "chair"),
    Call("finalize minutes", "POST", "/api/v1/meetings/{m}/minutes/finalize", "secretary", ok=(409,)),
    Call("minutes pdf", "GET", "/api/v1/meetings/{m}/minutes/pdf", "delegate", ok=(404,)),
    Call("archive", "GET", "/api/v1/meetings/{m}/archive", "delegate", ok=(409,)),
    Call("archive check", "GET", "/api/v1/meetings/{m}/archive/verification", "secretary", ok=(409,)),
]
CALLS = {c.name: c for c in WRITES + NO_BODY}


class Scene:
    """A meeting in session with two agenda items, participants and a planned session, plus a sibling meeting
    of the same body (to borrow its ids) and another body with its own secretary."""

    def __init__(self, world, token_for, client, request):
        self.world, self.client, self.token_for, self._request = world, client, token_for, request
        self.meeting = self.running_meeting(items=2)
        items = self.item_ids(self.meeting.id)
        member = db.session.execute(sa.select(BodyMember.id).where(BodyMember.body_id == world.body.id,
                                                                   BodyMember.user_id == world.approver.id))
        self.ids = {"m": self.meeting.id, "item": items[0], "item2": items[1], "pid": self.pid(self.meeting.id),
                    "sid": self.meeting.sessions[0].id, "user": world.outsider.id, "body": world.body.id,
                    "member": member.scalar_one(), "disp": self.display(self.meeting.id),
                    "proxy": self.proxy(self.meeting), "rid": self.speaker_request(self.meeting.id),
                    "voter": world.chair.id, "poll": self.poll(self.meeting.id)}
        self.headers = {}

    def running_meeting(self, items: int):
        meeting = self.world.meeting("published", items=items)
        create_session(meeting.id, SessionCreate(title="Phiên sáng"), actor=self.world.secretary)
        commit()
        self.world.advance(meeting, "in_session")
        return meeting

    @functools.cached_property
    def other(self):
        """Another body with its own secretary (built only by the tests that need it)."""
        return self._request.getfixturevalue("other_world")

    @functools.cached_property
    def sibling(self):
        """Another running meeting of the same body, whose ids the tests borrow."""
        return self.running_meeting(items=1)

    @functools.cached_property
    def sibling_ids(self):
        items = self.item_ids(self.sibling.id)
        return {"m": self.sibling.id, "item": items[0], "item2": items[0], "pid": self.pid(self.sibling.id),
                "sid": self.sibling.sessions[0].id, "disp": self.display(self.sibling.id),
                "proxy": self.proxy(self.sibling), "rid": self.speaker_request(self.sibling.id),
                "poll": self.poll(self.sibling.id)}

    def poll(self, meeting_id: int) -> int:
        """An open named poll (no roll call taken: every voting member may vote)."""
        poll = create_poll(meeting_id, title="Biểu quyết", secret=False, rule="simple", options=None, max_choices=1,
                           agenda_item_id=None, duration_seconds=None, allow_change=False, actor=self.world.secretary)
        commit()
        open_poll(meeting_id, poll.id, actor=self.world.chair)
        commit()
        return poll.id

    def proxy(self, meeting) -> int:
        """delegate2 gives their vote to the chair for the first session."""
        proxy = give_proxy(meeting.id, meeting.sessions[0].id, self.world.chair.id, actor=self.world.delegate2)
        commit()
        return proxy.id

    def speaker_request(self, meeting_id: int) -> int:
        """delegate waits for the floor."""
        request, _created = request_floor(meeting_id, "speech", actor=self.world.delegate)
        commit()
        return request.id

    def display(self, meeting_id: int) -> int:
        _token, display = create_display(meeting_id, "Máy chiếu", actor=self.world.secretary)
        commit()
        return display.id

    @staticmethod
    def item_ids(meeting_id):
        return list(db.session.execute(sa.select(AgendaItem.id).where(AgendaItem.meeting_id == meeting_id)
                                       .order_by(AgendaItem.position)).scalars())

    def pid(self, meeting_id):
        return db.session.execute(sa.select(Participant.id).where(
            Participant.meeting_id == meeting_id, Participant.user_id == self.world.guest.id)).scalar_one()

    def auth(self, who: str | None) -> dict:
        if who is None:
            return {}
        if who not in self.headers:
            user = getattr(self.world, who) if who != "other_secretary" else self.other.secretary
            self.headers[who] = self.token_for(user)
        return self.headers[who]

    def resolve(self, value, ids=None):
        ids = {**self.ids, **(ids or {})}
        if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
            return ids[value[1:-1]]
        if isinstance(value, dict):
            return {k: self.resolve(v, ids) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, ids) for v in value]
        return value

    def url(self, call: Call, ids=None) -> str:
        return call.path.format(**{**self.ids, **(ids or {})})

    def send(self, call: Call, *, url=None, json_body=None, raw=None, content_type=None, who="default"):
        headers = dict(self.auth(call.actor if who == "default" else who))
        url = url or self.url(call)
        if call.multipart and raw is None:
            csv = "username,role\n{}\n".format(self.world.delegate2.username + ",guest").encode()
            content, name = call.extra.get("upload") or (csv, "ds.csv")
            return self.client.open(url, method=call.method, headers=headers, content_type="multipart/form-data",
                                    data={"file": (io.BytesIO(content), name)})
        if raw is not None:
            return self.client.open(url, method=call.method, headers=headers, data=raw,
                                    content_type=content_type or "application/json")
        if json_body is None and call.body is None:
            return self.client.open(url, method=call.method, headers=headers)
        return self.client.open(url, method=call.method, headers=headers, json=json_body)


@pytest.fixture
def scene(world, token_for, client, request):
    return Scene(world, token_for, client, request)


class Problems:
    """Collects every case that misbehaved, so one run reports them all."""

    def __init__(self):
        self.failures: list[str] = []

    def check(self, label: str, resp, statuses: tuple[int, ...], before: dict | None) -> None:
        problems = []
        if resp.status_code not in statuses:
            problems.append(f"status {resp.status_code}, expected {statuses}")
        if resp.status_code >= 400:
            if resp.mimetype != "application/problem+json":
                problems.append(f"mimetype {resp.mimetype}")
            else:
                body = resp.get_json()
                if not isinstance(body, dict) or body.get("status") != resp.status_code or not body.get("title"):
                    problems.append(f"body {body!r:.200}")
                elif not isinstance(body.get("detail"), str) or not body["detail"].strip() \
                        or "Traceback" in body["detail"]:
                    problems.append(f"detail {body.get('detail')!r:.200}")
        if before is not None and row_counts() != before:
            after = row_counts()
            problems.append("wrote " + ", ".join(f"{t}: {before[t]}→{after[t]}" for t in after if after[t] != before[t]))
        if problems:
            self.failures.append(f"{label}: " + "; ".join(problems))

    def done(self) -> None:
        assert not self.failures, "\n" + "\n".join(self.failures)


def max_length(schema: type[BaseModel], name: str) -> int | None:
    def find(node):
        if isinstance(node, dict):
            if "maxLength" in node:
                return node["maxLength"]
            for key in ("anyOf", "allOf"):
                for sub in node.get(key, []):
                    found = find(sub)
                    if found:
                        return found
        return None
    return find(schema.model_json_schema()["properties"][name])


def wrong_values(name: str, value: Any, call: Call) -> list[Any]:
    if name == "vote_weight":
        return [True, [1], {"v": 1}, "abc", "", "1e99999", "NaN", "Infinity"]
    if name == "request_ids":  # a list of ids: [1] may well be the valid order itself
        return ["x", 1, {"id": 1}, [True], ["1"], [0], [2**31], [1.5], [[1]]]
    if name in call.datetimes:
        return [1733000000, True, "tomorrow", "2026-13-01T08:00:00+07:00", "01/12/2026 08:00", ["2026-12-01"]]
    if isinstance(value, bool):
        return [1, 0, "true", "yes", [True]]
    if isinstance(value, int):
        return [str(value), float(value) + 0.5, True, [value], {"id": value}, 2**31, -1, 10**40]
    if isinstance(value, str):
        return [123, True, 1.5, ["x"], {"x": "y"}]
    if isinstance(value, list):
        return ["x", 1, {"id": 1}, [1], [{"id": "1"}], [{"id": True}], [{"id": 1, "children": "x"}],
                [{"id": 1, "unknown": 2}]]
    return []


# --- bodies that are broken one way at a time --------------------------------------------------------------

@pytest.mark.parametrize("name", [c.name for c in WRITES])
def test_broken_json_bodies_are_refused_without_writing(scene, name):
    call = CALLS[name]
    valid = scene.resolve(call.body)
    problems = Problems()
    scene.auth(call.actor)  # the token is issued before the row counts are taken

    def expect(label, statuses=(400,), **kwargs):
        before = row_counts()
        problems.check(label, scene.send(call, **kwargs), statuses, before)

    # wrong JSON types, field by field
    for key, value in valid.items():
        for wrong in wrong_values(key, value, call):
            expect(f"{key}={wrong!r:.60}", json_body={**valid, key: wrong})
    # missing required fields, unknown fields
    required = [n for n, f in call.schema.model_fields.items() if f.is_required()]
    for key in required:
        expect(f"missing {key}", json_body={k: v for k, v in valid.items() if k != key})
    if required:
        expect("empty object", json_body={})
    expect("unknown field", json_body={**valid, "is_superuser": True})
    for key in required:
        if type(None) not in getattr(call.schema.model_fields[key].annotation, "__args__", ()):
            expect(f"null {key}", json_body={**valid, key: None})
    # not JSON at all, or not an object
    for raw in (b"{", b"{'title': 'x'}", b"", b"[]", b"null", b'"text"', b"123", b'{"a": 1,}', b'{"a": NaN}',
                b"[" * 5000 + b"]" * 5000, b"\xff\xfe{\x00}", json.dumps(valid).encode()[:-1]):
        expect(f"raw {raw[:30]!r}", raw=raw)
    # a JSON body under another content type
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml", "application/json-seq"):
        expect(f"content type {content_type}", (415,), raw=json.dumps(valid).encode(), content_type=content_type)
    # times without an offset
    for key in call.datetimes:
        for naive in ("2026-12-01T08:00:00", "2026-12-01 08:00", "2026-12-01"):
            expect(f"naive {key}={naive}", json_body={**valid, key: naive})
    # strings longer than allowed
    for key, value in valid.items():
        if isinstance(value, str) and key not in call.datetimes and key != "vote_weight":
            expect(f"huge {key}", json_body={**valid, key: HUGE})
            limit = max_length(call.schema, key)
            if limit:
                expect(f"{key} one longer than {limit}", json_body={**valid, key: "x" * (limit + 1)})
    problems.done()

    # … and the valid body does go through (so the refusals above were about the breakage, not the scene).
    resp = scene.send(call, json_body=valid)
    assert resp.status_code in call.ok, resp.get_data(as_text=True)


def test_vote_weights_must_be_positive_and_bounded(scene):
    call = CALLS["add participant"]
    valid = scene.resolve(call.body)
    scene.auth(call.actor)
    problems = Problems()
    for weight in (0, -1, "0", "-0.5", "0.00001", 10001, "10000.00001", -0.0):
        before = row_counts()
        problems.check(f"vote_weight={weight!r}", scene.send(call, json_body={**valid, "vote_weight": weight}),
                       (400,), before)
    problems.done()
    for weight, stored in ((1, "1"), ("0.0001", "0.0001"), (10000, "10000"), (2.5, "2.5")):
        db.session.execute(sa.delete(Participant).where(Participant.user_id == scene.world.outsider.id))
        commit()
        resp = scene.send(call, json_body={**valid, "vote_weight": weight})
        assert resp.status_code == 201 and resp.json["vote_weight"] == stored, (weight, resp.json)


# --- the longest strings the schemas accept must be stored whole -------------------------------------------

def has_free_text(call: Call) -> bool:
    return call.name != "login" and any(isinstance(v, str) and not v.startswith("{") and max_length(call.schema, k)
                                        for k, v in call.body.items())


@pytest.mark.parametrize("name", [c.name for c in WRITES if has_free_text(c)])
def test_longest_accepted_strings_are_stored_whole(scene, name):
    call = CALLS[name]
    valid = scene.resolve(call.body)
    longest = {}
    for key, value in valid.items():
        limit = max_length(call.schema, key) if isinstance(value, str) else None
        if limit and key not in ("locale",):
            if key == "email":
                longest[key] = "a" * (limit - 8) + "@mail.vn"
            elif key in ("action", "choice"):  # a value from a fixed set, not free text
                continue
            elif key == "idempotency_key":  # ASCII by its pattern
                longest[key] = "k" * limit
            elif key == "signature":  # base64
                longest[key] = "A" * (limit - limit % 4)
            else:
                longest[key] = ("Đ" if key != "username" else "u") * limit
    assert longest
    resp = scene.send(call, json_body={**valid, **longest})
    assert resp.status_code in call.ok, resp.get_data(as_text=True)[:500]
    if resp.status_code != 204 and isinstance(resp.json, dict):
        for key, value in longest.items():
            if key in resp.json:
                assert resp.json[key] == value, key


# --- ids in the URL ----------------------------------------------------------------------------------------

def all_calls():
    return WRITES[1:] + NO_BODY


def test_unknown_and_out_of_range_ids_are_404(scene):
    problems = Problems()
    for call in all_calls():
        check_unknown_ids(scene, call, problems)
    problems.done()


def check_unknown_ids(scene, call: Call, problems: Problems) -> None:
    placeholders = [p for p in ("m", "item", "pid", "sid", "user", "body", "member", "disp", "proxy", "rid", "poll")
                    if "{" + p + "}" in call.path]
    valid = scene.resolve(call.body) if call.body else None
    scene.auth(call.actor)
    for key in placeholders:
        # An id in the path that names nothing is 404; in the query string it is a bad parameter unless in range.
        in_query = "?" in call.path and call.path.index("{" + key + "}") > call.path.index("?")
        for bad in (987654, 2**31 - 1, 2**31, 2**63, 10**30, 0):
            before = row_counts()
            url = scene.url(call, {key: bad})
            expected = (404,) if not in_query or 1 <= bad < 2**31 else (400,)
            problems.check(f"{call.name}: {key}={bad}", scene.send(call, url=url, json_body=valid), expected, before)
        for bad in ("-1", "abc", "1.5", "%00", "1e3", "0x10"):
            before = row_counts()
            url = call.path.replace("{" + key + "}", bad).format(**scene.ids)
            expected = (400,) if in_query else (404,)
            problems.check(f"{call.name}: {key}={bad}", scene.send(call, url=url, json_body=valid), expected, before)


def test_ids_of_another_meeting_are_404(scene):
    sibling_ids = scene.sibling_ids  # built before the row counts are taken
    problems = Problems()
    for call in all_calls():
        valid = scene.resolve(call.body) if call.body else None
        scene.auth(call.actor)
        for key in ("item", "pid", "sid", "proxy", "rid", "poll"):
            if "{" + key + "}" in call.path:
                before = row_counts()
                url = scene.url(call, {key: sibling_ids[key]})
                problems.check(f"{call.name}: {key} of meeting {scene.sibling.id}",
                               scene.send(call, url=url, json_body=valid), (404,), before)
    problems.done()


def test_item_ids_of_another_meeting_in_bodies_are_404(scene):
    foreign = scene.sibling_ids["item"]
    problems = Problems()
    for name, body in (("set current item", {"item_id": foreign}),
                       ("add agenda item", {"title": "Con", "parent_id": foreign})):
        call = CALLS[name]
        scene.auth(call.actor)
        before = row_counts()
        problems.check(name, scene.send(call, json_body=body), (404,), before)
    call = CALLS["reorder agenda"]
    before = row_counts()
    body = {"items": [{"id": scene.ids["item"]}, {"id": scene.ids["item2"]}, {"id": foreign}]}
    problems.check("reorder with a foreign item", scene.send(call, json_body=body), (422,), before)
    problems.done()


def test_another_bodys_secretary_gets_404_for_every_meeting_endpoint(scene):
    """Their own secretary role means nothing here: the meeting does not exist for them."""
    scene.auth("other_secretary")
    problems = Problems()
    for call in all_calls():
        if "{m}" in call.path:
            before = row_counts()
            resp = scene.send(call, json_body=scene.resolve(call.body) if call.body else None, who="other_secretary")
            problems.check(call.name, resp, (404,), before)
    problems.done()


def test_another_bodys_secretary_cannot_reach_this_body(scene):
    headers = scene.auth("other_secretary")
    body_id = scene.world.body.id
    problems = Problems()
    for method, url, payload, status in (
            ("GET", f"/api/v1/bodies/{body_id}", None, 404),
            ("PATCH", f"/api/v1/bodies/{body_id}", {"short_name": "X"}, 404),
            ("POST", f"/api/v1/bodies/{body_id}/members", {"user_id": scene.other.secretary.id, "role": "secretary"},
             404),
            ("DELETE", f"/api/v1/bodies/{body_id}/members/{scene.ids['member']}", None, 404),
            ("POST", "/api/v1/meetings", {"body_id": body_id, "title": "Chen ngang"}, 403),
            ("GET", f"/api/v1/meetings?body_id={body_id}", None, 200)):
        before = row_counts()
        resp = scene.client.open(url, method=method, headers=headers, json=payload)
        problems.check(f"{method} {url}", resp, (status,), before)
        if status == 200:
            assert resp.json == {"items": [], "total": 0}
    problems.done()


def test_every_meeting_endpoint_of_the_app_is_in_the_catalogue(app):
    """New meeting endpoints must join the catalogue, so the 404 guarantees above cover them too."""
    from tests.api.test_openapi import api_routes
    catalogued = {(c.method, c.path.split("?")[0]) for c in all_calls() + WRITES[:1]}
    normalise = {"meeting_id": "m", "item_id": "item", "participant_id": "pid", "session_id": "sid",
                 "user_id": "user", "body_id": "body", "member_id": "member", "display_id": "disp",
                 "proxy_id": "proxy", "request_id": "rid", "kind": "start", "poll_id": "poll"}
    missing = []
    catalogued |= {(m, p.replace("/start/", "/{start}/").replace("/abc123", "/{receipt}")) for m, p in catalogued}
    for path, method in api_routes(app):
        if "{meeting_id}" not in path and path not in ("/api/v1/users/{user_id}", "/api/v1/bodies/{body_id}"):
            continue
        ours = path
        for arg, short in normalise.items():
            ours = ours.replace("{" + arg + "}", "{" + short + "}")
        if (method, ours) not in catalogued:
            missing.append(f"{method} {path}")
    assert not missing, missing


# --- query strings -----------------------------------------------------------------------------------------

def test_bad_query_strings_are_400(scene):
    headers = scene.auth("admin")
    problems = Problems()
    m = scene.meeting.id
    for url in ("/api/v1/meetings?limit=abc", "/api/v1/meetings?limit=0", "/api/v1/meetings?limit=100000",
                "/api/v1/meetings?offset=-1", "/api/v1/meetings?state=lost", "/api/v1/meetings?body_id=0",
                f"/api/v1/meetings?body_id={2**40}", "/api/v1/meetings?unknown=1", "/api/v1/meetings?limit=1.5",
                f"/api/v1/meetings/{m}/events?after=-1", f"/api/v1/meetings/{m}/events?after=x",
                "/api/v1/audit/verify?meeting_id=abc", f"/api/v1/audit/verify?meeting_id={10**30}",
                "/api/v1/audit/verify?meeting_id=0",
                # search: the paging is checked here; hostile search text (200 or 422) in tests/search
                "/api/v1/search?q=a&limit=0", "/api/v1/search?q=a&limit=51", "/api/v1/search?q=a&limit=x",
                "/api/v1/search?q=a&offset=-1", f"/api/v1/search?q=a&offset={10**30}", "/api/v1/search?q=a&x=1",
                f"/api/v1/meetings/{m}/minutes/revisions?agenda_item_id=abc",
                f"/api/v1/meetings/{m}/minutes/revisions?agenda_item_id=0",
                f"/api/v1/meetings/{m}/minutes/revisions?agenda_item_id={2**31}"):
        problems.check(url, scene.client.get(url, headers=headers), (400,), None)
    problems.done()
