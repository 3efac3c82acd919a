"""The realtime wire protocol: client messages, channels and who may use them, server replies.

Client → server: `subscribe` (channel, optional `since`), `unsubscribe`, `auth` (a new
token), `ping` (and `pong`, accepted as a heartbeat). Server → client: `subscribed`
(with `head`), `event`, `reset`, `error` (echoing `ref`), `ping`, `pong`, and the small
acknowledgements `unsubscribed` and `authenticated`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson

from dentalcare.auth.tokens import Principal
from dentalcare.errors import (
    BadRequest,
    DentalCareError,
    Forbidden,
    RateLimited,
    Unauthorized,
    ValidationError,
)
from dentalcare.realtime.events import (
    ADMIN_TOPIC,
    APPOINTMENT_TABLES,
    AVAILABILITY_TABLES,
    DENTIST_TABLES,
    DENTISTS,
    GLOBAL_AVAILABILITY,
    MESSAGE_TABLES,
    MESSAGES,
    WAITLIST,
    WAITLIST_TABLES,
    Encoded,
    availability_channel,
    dentist_topic,
    encode,
    messages_topic,
    patient_topic,
    waitlist_topic,
)
from dentalcare.realtime.hub import ChannelSpec
from dentalcare.vocabulary import is_staff

CLIENT_TYPES = frozenset({"subscribe", "unsubscribe", "auth", "ping", "pong"})
# The largest legitimate client message is an `auth` with a token (about 300 bytes) or a
# `subscribe` to `availability:<uuid>` (about 100): 4 KiB leaves room for ten times that.
# The server (uvicorn's ws_max_size) refuses a larger frame with 1009 before reading it.
MAX_MESSAGE_BYTES = 4 * 1024

PING = encode({"type": "ping"})
PONG = encode({"type": "pong"})
# A client's answer to PING as the SDK, realtime.js and most clients write it.
PONG_TEXT = '{"type":"pong"}'


@dataclass(frozen=True, slots=True)
class ClientMessage:
    """One validated message from a client."""

    type: str
    ref: Any = None
    channel: str | None = None
    since: int | None = None
    token: str | None = None


class MessageError(Exception):
    """A message the server answers with an `error` (the socket stays open)."""

    def __init__(self, error: DentalCareError, ref: Any = None) -> None:
        super().__init__(error.detail)
        self.error = error
        self.ref = ref


def parse(data: str | bytes) -> ClientMessage:
    """Validate one text frame from a client; MessageError says what is wrong."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise MessageError(BadRequest("Messages are limited to 4 KiB."))
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MessageError(BadRequest("Each message must be one JSON object.")) from exc
    if not isinstance(raw, dict):
        raise MessageError(BadRequest("Each message must be one JSON object."))
    ref = raw.get("ref")
    if isinstance(ref, bool) or (ref is not None and not isinstance(ref, str | int)):
        raise MessageError(ValidationError("ref: use a string or an integer."))
    kind = raw.get("type")
    if kind not in CLIENT_TYPES:
        raise MessageError(
            ValidationError("type: use subscribe, unsubscribe, auth or ping."), ref=ref
        )
    if kind in ("subscribe", "unsubscribe"):
        channel = raw.get("channel")
        if not isinstance(channel, str) or not channel:
            raise MessageError(ValidationError("channel: name the channel."), ref=ref)
        since = raw.get("since") if kind == "subscribe" else None
        if since is not None and (not isinstance(since, int) or isinstance(since, bool)):
            raise MessageError(ValidationError("since: use the integer seq of an event."), ref=ref)
        if since is not None and since < 0:
            raise MessageError(ValidationError("since: must not be negative."), ref=ref)
        return ClientMessage(kind, ref=ref, channel=channel, since=since)
    if kind == "auth":
        token = raw.get("token")
        if not isinstance(token, str) or not token:
            raise MessageError(ValidationError("token: give the new access token."), ref=ref)
        return ClientMessage(kind, ref=ref, token=token)
    return ClientMessage(kind, ref=ref)


PONG_MESSAGE = ClientMessage("pong")


def resolve_channel(channel: str, principal: Principal | None) -> ChannelSpec:
    """What `channel` means for this caller; Unauthorized/Forbidden/BadRequest otherwise."""
    if channel == "appointments":
        return _appointments(principal)
    if channel == GLOBAL_AVAILABILITY:
        return ChannelSpec(channel, channel, "global", channel, AVAILABILITY_TABLES)
    if channel == DENTISTS:
        return ChannelSpec(channel, channel, "global", channel, DENTIST_TABLES)
    if channel == WAITLIST:
        return _waitlist(principal)
    if channel == MESSAGES:
        return _messages(principal)
    prefix, _, rest = channel.partition(":")
    if prefix == GLOBAL_AVAILABILITY and rest:
        try:
            dentist_id = UUID(rest)
        except ValueError as exc:
            raise BadRequest(f"{channel!r}: use availability:<dentist id>.") from exc
        name = availability_channel(dentist_id)
        return ChannelSpec(
            name, name, "availability", name, AVAILABILITY_TABLES, dentist_id=dentist_id
        )
    raise BadRequest(
        f"Unknown channel {channel!r}: use appointments, availability, "
        "availability:<dentist id>, dentists, messages or waitlist."
    )


def canonical(channel: str) -> str:
    """The channel name as the server spells it (dentist ids in lower case)."""
    prefix, _, rest = channel.partition(":")
    if prefix == GLOBAL_AVAILABILITY and rest:
        try:
            return availability_channel(UUID(rest))
        except ValueError:
            return channel
    return channel


def _appointments(principal: Principal | None) -> ChannelSpec:
    if principal is None:
        raise Unauthorized("The appointments channel needs an access token (?token= or auth).")
    if principal.role in ("admin", "front_desk"):
        topic, dentist_id, patient_id = ADMIN_TOPIC, None, None
    elif principal.role == "dentist" and principal.dentist_id is not None:
        topic, dentist_id, patient_id = (
            dentist_topic(principal.dentist_id),
            principal.dentist_id,
            None,
        )
    elif principal.role == "patient":
        topic, dentist_id, patient_id = patient_topic(principal.user_id), None, principal.user_id
    else:
        raise Forbidden("This account has no appointments to follow.")
    return ChannelSpec(
        "appointments",
        topic,
        "appointments",
        f"appointments:{topic}",
        APPOINTMENT_TABLES,
        dentist_id=dentist_id,
        patient_id=patient_id,
    )


def _messages(principal: Principal | None) -> ChannelSpec:
    """Appointments' message status: staff see every one, a dentist their own
    appointments'; patients follow their bookings on `appointments` instead."""
    if principal is None:
        raise Unauthorized("The messages channel needs an access token (?token= or auth).")
    if is_staff(principal.role):
        topic = messages_topic()
        return ChannelSpec(MESSAGES, topic, "appointments", topic, MESSAGE_TABLES)
    if principal.role == "dentist" and principal.dentist_id is not None:
        topic = messages_topic(principal.dentist_id)
        return ChannelSpec(
            MESSAGES,
            topic,
            "appointments",
            topic,
            MESSAGE_TABLES,
            dentist_id=principal.dentist_id,
        )
    raise Forbidden("The messages channel is the clinic staff's and the dentists'.")


def _waitlist(principal: Principal | None) -> ChannelSpec:
    """Waitlist entries and offers: staff see every one, a patient their own entries'."""
    if principal is None:
        raise Unauthorized("The waitlist channel needs an access token (?token= or auth).")
    if is_staff(principal.role):
        return ChannelSpec(WAITLIST, WAITLIST, "global", WAITLIST, WAITLIST_TABLES)
    if principal.role == "patient":
        topic = waitlist_topic(principal.user_id)
        return ChannelSpec(
            WAITLIST,
            topic,
            "appointments",
            topic,
            WAITLIST_TABLES,
            patient_id=principal.user_id,
        )
    raise Forbidden("The waitlist channel is the clinic staff's and the patients' (their own).")


def subscribed(ref: Any, channel: str, head: int) -> Encoded:
    """The reply to `subscribe`."""
    return encode({"type": "subscribed", "ref": ref, "channel": channel, "head": head})


def unsubscribed(ref: Any, channel: str) -> Encoded:
    """The reply to `unsubscribe`."""
    return encode({"type": "unsubscribed", "ref": ref, "channel": channel})


def authenticated(ref: Any, expires_at: int) -> Encoded:
    """The reply to a successful `auth`."""
    return encode({"type": "authenticated", "ref": ref, "expires_at": expires_at})


HISTORY_EXPIRED = "history_expired"
REPLAY_TOO_LONG = "replay_too_long"


def reset(channel: str, reason: str = HISTORY_EXPIRED) -> Encoded:
    """No replay from `since`: the client must refetch over REST. `history_expired`: the
    history is gone; `replay_too_long`: an anonymous socket asked for more than a short one."""
    return encode({"type": "reset", "channel": channel, "reason": reason})


def error(ref: Any, exc: DentalCareError) -> Encoded:
    """An `error` reply (a RateLimited one says after how many seconds to try again)."""
    body = {"type": "error", "ref": ref, "error": exc.code, "detail": exc.detail}
    if isinstance(exc, RateLimited):
        body["retry_after"] = exc.retry_after
    return encode(body)
