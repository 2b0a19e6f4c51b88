"""A meeting held through the real operations, closed and ready for its minutes; signing certificates."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from meetings.agenda.models import AgendaItem
from meetings.core.db import VN_TZ
from meetings.core.tx import commit
from meetings.extensions import db
from meetings.meeting.operations import create_session
from meetings.meeting.schemas import SessionCreate
from meetings.minutes.example import Script, hold_meeting
from meetings.voting.operations import create_poll

PASSPHRASE = "mật-khẩu-ký-2026"


class Held:
    def __init__(self, world):
        self.world = world
        meeting = world.meeting("draft", title="Kỳ họp thứ Tám, HĐND tỉnh", items=2)
        starts = datetime(2026, 12, 1, 8, 0, tzinfo=VN_TZ)
        for i, title in enumerate(("Phiên buổi sáng", "Phiên buổi chiều")):
            create_session(meeting.id, SessionCreate(title=title, starts_at=starts + timedelta(hours=5 * i)),
                           actor=world.secretary)
        items = list(db.session.query(AgendaItem).filter_by(meeting_id=meeting.id).order_by(AgendaItem.position))
        self.items = items
        self.named = create_poll(meeting.id, title="Thông qua Nghị quyết về đầu tư công", secret=False,
                                 rule="simple", options=None, max_choices=1, agenda_item_id=items[0].id,
                                 duration_seconds=None, allow_change=False, actor=world.secretary)
        self.secret = create_poll(meeting.id, title="Bầu Ủy viên (bỏ phiếu kín)", secret=True, rule="simple",
                                  options=None, max_choices=1, agenda_item_id=items[1].id, duration_seconds=None,
                                  allow_change=False, actor=world.secretary)
        commit()
        world.advance(meeting, "published")
        self.meeting = meeting
        self.script = Script(absent={world.delegate2.id: "Đi công tác"},
                             speakers={items[0].id: [world.delegate.id]},
                             votes={self.named.id: {world.delegate.id: "no", world.chair.id: "yes"},
                                    self.secret.id: {world.delegate.id: "yes", world.chair.id: "yes"}})

    def hold(self) -> None:
        hold_meeting(self.meeting, chair=self.world.chair, secretary=self.world.secretary,
                     voters=[self.world.delegate, self.world.delegate2], script=self.script)


@pytest.fixture
def held(world):
    return Held(world)


@pytest.fixture
def test_ca(app):
    from meetings.documents.org_signer import org_signer, test_root_ca

    org_signer()  # makes the installation's test PKI
    return test_root_ca(app)


@pytest.fixture
def credential_for(app, test_ca):
    """Give a user a personal certificate (from the installation's test CA) stored on the server."""
    from meetings.minutes.operations import save_credential
    from meetings.signing.images import demo_signature_png
    from meetings.signing.pki import issue_personal_certificate, write_pkcs12

    def give(user, *, image: bool = True):
        identity = issue_personal_certificate(test_ca, user.full_name, organisation="HĐND tỉnh", title=user.title or None)
        p12 = write_pkcs12(identity, PASSPHRASE)
        save_credential(actor=user, p12=p12, passphrase=PASSPHRASE,
                        signature_png=demo_signature_png(user.full_name, seed=user.id) if image else None)
        commit()
        return identity
    return give
