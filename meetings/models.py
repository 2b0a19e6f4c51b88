"""Imports every model so the metadata is complete (for migrations and relationship resolution)."""
from meetings.attendance.models import Attendance, Card, Kiosk, Proxy, RollCall  # noqa: F401
from meetings.agenda.models import AgendaItem  # noqa: F401
from meetings.auth.models import ApiToken, LoginAttempt, User  # noqa: F401
from meetings.bodies.models import Body, BodyMember  # noqa: F401
from meetings.core.audit import AuditChain, AuditEntry  # noqa: F401
from meetings.core.events import MeetingEvent  # noqa: F401
from meetings.documents.models import Document, DocumentRead, DocumentVersion  # noqa: F401
from meetings.meeting.models import (DisplayToken, Meeting, MeetingSession, MeetingTransition,  # noqa: F401
                                     Participant)
from meetings.search.models import SearchEntry  # noqa: F401
from meetings.speakers.models import SpeakerRequest  # noqa: F401
from meetings.voting.models import Ballot, Poll, PollRight, SecretChoice, SecretVoter  # noqa: F401
from meetings.minutes.models import (BodySeal, ExternalSigningRequest, Minutes, MinutesEntry,  # noqa: F401
                                     MinutesRevision, MinutesSignature, SigningCredential)
