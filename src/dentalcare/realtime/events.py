"""Event-log rows as the contract's `event` messages, and which topics each one reaches.

An event is rendered and serialised once; its message on a channel is that JSON with the
channel spliced in, framed once and shared by every socket on the channel — live and, from
the hub's memory of recent events, by every replay that covers it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from dentalcare.appointments.schemas import appointment_json
from dentalcare.auth.tokens import Principal
from dentalcare.availability.schemas import exception_json, window_json
from dentalcare.dentists.schemas import dentist_json
from dentalcare.jsonshape import iso_instant, text_id
from dentalcare.outbox.repository import message_json
from dentalcare.realtime.frames import text_frame

APPOINTMENT_TABLES = ("appointments",)
AVAILABILITY_TABLES = (
    "dentist_availability",
    "availability_exceptions",
    "slots",
    "clinic_closures",
)
DENTIST_TABLES = ("dentists",)
# Waitlist entries and offers (migration 0012), no e-mail or phone: staff see all, a
# patient those of their own entries (patient_id, migration 0027).
WAITLIST_TABLES = ("waitlist",)
WAITLIST = "waitlist"
# Message status changes of appointments' messages (migration 0024): staff see all, a
# dentist those of their own appointments. The record is API.md `message`.
MESSAGE_TABLES = ("messages",)
MESSAGES = "messages"
# Events that revoke a principal (migration 0005): no channel carries them; the hub
# closes the sockets they name.
USERS_TABLE = "users"
REVOKED_SESSIONS_TABLE = "revoked_tokens"

ADMIN_TOPIC = "admin"
GLOBAL_AVAILABILITY = "availability"
DENTISTS = "dentists"


def patient_topic(user_id: UUID | str) -> str:
    """The topic of one patient's appointments."""
    return f"patient:{user_id}"


def waitlist_topic(patient_id: UUID | str | None = None) -> str:
    """The topic of every waitlist event (staff), or of one patient's entries."""
    return WAITLIST if patient_id is None else f"waitlist:patient:{patient_id}"


def dentist_topic(dentist_id: UUID | str) -> str:
    """The topic of one dentist's appointments."""
    return f"dentist:{dentist_id}"


def messages_topic(dentist_id: UUID | str | None = None) -> str:
    """The topic of every appointment's messages (staff), or of one dentist's."""
    return MESSAGES if dentist_id is None else f"messages:dentist:{dentist_id}"


def availability_channel(dentist_id: UUID | str) -> str:
    """The channel (and topic) of one dentist's availability."""
    return f"availability:{dentist_id}"


class Encoded:
    """One message ready to send: its JSON text and the unmasked WebSocket text frame."""

    __slots__ = ("frame", "payload")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.frame = text_frame(payload)


# `{"type":"event","channel":` + the channel + `,` + the rest of the message (its fields
# after the channel): what orjson writes for body() with the channel filled in.
_EVENT_HEAD = b'{"type":"event","channel":'


@dataclass(frozen=True, slots=True)
class Revocation:
    """Whose sockets an event closes: one session of a user, or the tokens of a user
    below a version, or everything of a user (disabled or deleted)."""

    user_id: UUID
    session_id: UUID | None = None
    token_version: int | None = None
    everything: bool = False

    def covers(self, principal: Principal) -> bool:
        """Whether a socket identified as `principal` must close."""
        if principal.user_id != self.user_id:
            return False
        if self.everything:
            return True
        if self.session_id is not None:
            return principal.session_id == self.session_id
        # A version bump refuses older tokens only: a socket opened with a token issued
        # after the bump (a fresh login) stays.
        return self.token_version is not None and principal.token_version < self.token_version


def encode(message: Mapping[str, Any]) -> Encoded:
    """Encode a server message."""
    return Encoded(orjson.dumps(message))


@dataclass(slots=True)
class LogEvent:
    """One row of the event log."""

    seq: int
    table: str
    op: str
    record: dict[str, Any] | None
    old_record: dict[str, Any] | None
    dentist_id: UUID | None
    patient_id: UUID | None
    committed_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> LogEvent:
        """From a `realtime_events` row."""
        return cls(
            seq=row["seq"],
            table=row["table_name"],
            op=row["op"],
            record=row["record"],
            old_record=row["old_record"],
            dentist_id=row["dentist_id"],
            patient_id=row["patient_id"],
            committed_at=row["committed_at"],
        )

    def routes(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(channel, topics) pairs this event is delivered on."""
        if self.table == "appointments":
            topics = [ADMIN_TOPIC]
            if self.dentist_id is not None:
                topics.append(dentist_topic(self.dentist_id))
            if self.patient_id is not None:
                topics.append(patient_topic(self.patient_id))
            return (("appointments", tuple(topics)),)
        if self.table in AVAILABILITY_TABLES:
            if self.dentist_id is None:
                return ((GLOBAL_AVAILABILITY, (GLOBAL_AVAILABILITY,)),)
            own = availability_channel(self.dentist_id)
            return ((own, (own,)), (GLOBAL_AVAILABILITY, (GLOBAL_AVAILABILITY,)))
        if self.table == "dentists":
            return ((DENTISTS, (DENTISTS,)),)
        if self.table in WAITLIST_TABLES:
            if self.patient_id is None:
                return ((WAITLIST, (WAITLIST,)),)
            return ((WAITLIST, (WAITLIST, waitlist_topic(self.patient_id))),)
        if self.table in MESSAGE_TABLES:
            if self.dentist_id is None:
                return ((MESSAGES, (MESSAGES,)),)
            return ((MESSAGES, (MESSAGES, messages_topic(self.dentist_id))),)
        return ()

    def removes_dentist(self) -> bool:
        """Whether this event takes a dentist out of service (deactivated or deleted)."""
        if self.table != "dentists":
            return False
        if self.op == "DELETE":
            return True
        was_active = bool(self.old_record and self.old_record.get("active"))
        return was_active and not (self.record or {}).get("active", False)

    def revocation(self) -> Revocation | None:
        """What this event revokes, if it is a logout or a user's disabling or revocation."""
        if self.table not in (USERS_TABLE, REVOKED_SESSIONS_TABLE):
            return None
        record = self.record or {}
        if self.table == REVOKED_SESSIONS_TABLE:
            return Revocation(UUID(record["user_id"]), session_id=UUID(record["session_id"]))
        user_id = UUID(record["user_id"])
        if self.op == "DELETE" or record.get("disabled"):
            return Revocation(user_id, everything=True)
        return Revocation(user_id, token_version=int(record["token_version"]))

    def body(self) -> dict[str, Any]:
        """The message without its channel, records rendered as the contract's JSON."""
        return {"type": "event", "channel": None, **self.fields()}

    def fields(self) -> dict[str, Any]:
        """The message's fields after `channel`, in the order they are sent."""
        return {
            "seq": self.seq,
            "table": self.table,
            "op": self.op,
            "record": render_record(self.table, self.record),
            "old_record": render_record(self.table, self.old_record),
            "committed_at": iso_instant(self.committed_at),
        }


def render_record(table: str, record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A logged row as the contract renders it on the realtime channels."""
    if record is None:
        return None
    if table == "appointments":
        return appointment_json(record)
    if table == "dentists":
        return dentist_json(record, include_email=False)
    if table == "dentist_availability":
        return {
            "id": text_id(record["id"]),
            "dentist_id": text_id(record["dentist_id"]),
            **window_json(record),
        }
    if table == "availability_exceptions":
        return exception_json(record)
    if table == "messages":
        return message_event_json(record)
    if table == "clinic_closures":
        return {"id": record.get("id"), "date": record.get("date"), "reason": record.get("reason")}
    # `slots`: already {dentist_id, date, time, duration_minutes}, no patient data.
    return dict(record)


def message_event_json(record: Mapping[str, Any]) -> dict[str, Any]:
    """A logged message as API.md `message` (an `old_record` holds its `status` only)."""
    if "id" not in record:
        return {"status": record.get("status")}
    return message_json(record)


def event_frame(channel: str, rest: bytes) -> bytes:
    """The frame of an event on `channel`, from `rest` = orjson of its fields()."""
    return text_frame(b"".join((_EVENT_HEAD, orjson.dumps(channel), b",", memoryview(rest)[1:])))


class EventEncoder:
    """Renders and serialises one event lazily, once; then frames it once per channel.

    `frames` holds the frames made so far by channel (bytes only: the hub keeps it for its
    recent events, and a dict of strings and bytes costs the cycle collector nothing)."""

    __slots__ = ("_rest", "event", "frames")

    def __init__(self, event: LogEvent) -> None:
        self.event = event
        self._rest: bytes | None = None
        self.frames: dict[str, bytes] = {}

    def rest(self) -> bytes:
        """The event's fields after `channel`, serialised (rendered on first use)."""
        if self._rest is None:
            self._rest = orjson.dumps(self.event.fields())
        return self._rest

    def frame_for(self, channel: str) -> bytes:
        """The event's frame on `channel`."""
        frame = self.frames.get(channel)
        if frame is None:
            frame = self.frames[channel] = event_frame(channel, self.rest())
        return frame
