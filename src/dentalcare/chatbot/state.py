"""The conversation's state: a stage and what has been collected, serialisable as JSON.

Everything the dialogue knows between two messages is here, so a session can be stored
in a `jsonb` column and resumed by any process. `public()` is the `state` of the API:
the stage and the collected fields, without internal bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from dentalcare.chatbot.ports import HeldSlot, OfferedSlot, PatientDetails
from dentalcare.chatbot.screen import QUESTIONS, Findings
from dentalcare.chatbot.triage import RedFlag
from dentalcare.chatbot.when import When
from dentalcare.vocabulary import Urgency

Stage = Literal[
    "complaint",  # asked what is wrong / why they want to come in
    "screen",  # asked the red-flag questions (yes/no) before offering anything
    "preference",  # asked for a dentist and a time
    "slot",  # offered slots, waiting for a choice
    "details",  # asking for name, e-mail, phone
    "confirm",  # read back, waiting for yes/no
    "booked",  # booked; may start over, cancel or reschedule
    "emergency",  # told to get emergency care; no booking offered
    "manage_reference",  # asked for a booking reference
    "manage_email",  # asked for the booking's e-mail address (guests)
    "manage_action",  # found the booking, asked: cancel or reschedule?
    "manage_confirm",  # asked to confirm a cancellation
    "done",  # a cancellation or reschedule finished
    "waitlisted",  # put on the waitlist; may start over, cancel or reschedule
]
Mode = Literal["book", "cancel", "reschedule", "manage"]
# Where the waitlist stands in a booking: the assistant asked "shall I?" ("offered"), or
# the patient wants it ("wanted": the flow takes what the entry still needs, then joins).
WaitlistStep = Literal["offered", "wanted"]

# Bookings being managed keep only what the conversation needs.
BOOKING_FIELDS = (
    "id",
    "booking_reference",
    "patient_id",
    "dentist_id",
    "dentist_name",
    "appointment_date",
    "appointment_time",
    "status",
    "patient_email",
)


@dataclass(slots=True)
class QuickReply:
    """A button the widget may show; pressing it sends `value` as the patient's text."""

    label: str
    value: str

    def to_json(self) -> dict[str, str]:
        """As the API's `{label, value}`."""
        return {"label": self.label, "value": self.value}


@dataclass(slots=True)
class Reply:
    """One assistant message."""

    text: str
    quick_replies: list[QuickReply] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """As the API's `message`."""
        return {
            "role": "assistant",
            "text": self.text,
            "quick_replies": [q.to_json() for q in self.quick_replies],
        }


@dataclass(slots=True)
class ChatState:
    """Stage plus collected fields plus bookkeeping; see `to_json` for the stored form."""

    stage: Stage = "complaint"
    mode: Mode = "book"
    logged_in: bool = False
    # what the patient told us
    complaint: str | None = None
    symptoms: list[str] = field(default_factory=list)
    # the clinical picture: urgency (only ever rises), reasons, red-flag answers
    findings: Findings = field(default_factory=Findings)
    # the treatment kind (a treatment type's name) and whether the patient named it
    treatment: str | None = None
    treatment_named: bool = False
    child: bool = False
    age: int | None = None
    dentist_ids: list[str] | None = None
    dentist_label: str | None = None
    preference_given: bool = False
    when: When = field(default_factory=When)
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    slot: OfferedSlot | None = None
    # the clinic's hold on `slot` while the details are taken (its guest token is a
    # secret: stored with the state, never in `public()` or a reply)
    hold: HeldSlot | None = None
    # bookkeeping
    offered: list[OfferedSlot] = field(default_factory=list)
    offered_urgent: bool = False
    # slots already shown ("dentist|date|time"), skipped when the patient asks for other times
    seen: list[str] = field(default_factory=list)
    reference: str | None = None
    booking: dict[str, Any] | None = None
    booked_reference: str | None = None
    misunderstood: int = 0
    lookups_failed: int = 0
    freeform_complaint: bool = False
    # slots the realtime feed said were taken ("dentist|date|time"), until they are re-offered
    taken: list[str] = field(default_factory=list)
    # the red flags the pending screen question listed, and the stage it interrupted
    asked: list[RedFlag] = field(default_factory=list)
    resume: Stage | None = None
    # first-aid advice for a knocked-out tooth was given
    advised: bool = False
    # a treatment asked about ("how much is whitening?"), for "book me in for that"
    suggested: str | None = None
    # the waitlist: the step it is at, whether the patient turned it down (not offered
    # again in this booking), and what was registered (shown in `public()`)
    waitlist: WaitlistStep | None = None
    waitlist_declined: bool = False
    waitlisted: dict[str, Any] | None = None
    # the last two turns' final assistant messages, and how many turns in a row had to be
    # reworded (never the same prompt twice)
    recent: list[str] = field(default_factory=list)
    stuck: int = 0

    @property
    def urgency(self) -> Urgency:
        """How urgent the conversation is (it only ever rises)."""
        return self.findings.urgency

    @property
    def reasons(self) -> list[str]:
        """Why, at that level."""
        return list(self.findings.reasons)

    @property
    def details(self) -> PatientDetails | None:
        """The patient's details, once all three are known."""
        if self.name and self.email and self.phone:
            return PatientDetails(name=self.name, email=self.email, phone=self.phone)
        return None

    def missing_details(self) -> tuple[str, ...]:
        """Which of name, e-mail and phone are still unknown."""
        return tuple(
            key
            for key, value in (("name", self.name), ("email", self.email), ("phone", self.phone))
            if not value
        )

    def public(self) -> dict[str, Any]:
        """The API's `state`: `{stage, collected}`."""
        collected: dict[str, Any] = {
            "mode": self.mode,
            "complaint": self.complaint,
            "symptoms": self.symptoms,
            "urgency": self.urgency if self.complaint or self.reasons else None,
            "triage_reasons": self.reasons,
            "treatment": self.treatment,
            "for_child": self.child,
            "red_flags": {
                "asked": list(self.asked),
                "yes": sorted(self.findings.yes),
                "no": sorted(self.findings.no),
            },
            "dentist": self.dentist_label,
            "dentist_ids": self.dentist_ids,
            "when": self.when.describe() if self.preference_given else None,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "slot": self.slot.to_json() if self.slot else None,
            "offered": [s.to_json() for s in self.offered],
            "booking_reference": self.booked_reference or self.reference,
            "waitlist": self.waitlisted,
        }
        return {"stage": self.stage, "collected": collected}

    def to_json(self) -> dict[str, Any]:
        """Everything, as JSON (the stored form)."""
        out = self.public()
        out["internal"] = {
            "logged_in": self.logged_in,
            "preference_given": self.preference_given,
            "when": self.when.to_json(),
            "offered_urgent": self.offered_urgent,
            "seen": self.seen,
            "reference": self.reference,
            "booking": self.booking,
            "booked_reference": self.booked_reference,
            "misunderstood": self.misunderstood,
            "lookups_failed": self.lookups_failed,
            "freeform_complaint": self.freeform_complaint,
            "taken": self.taken,
            "findings": self.findings.to_json(),
            "treatment_named": self.treatment_named,
            "age": self.age,
            "resume": self.resume,
            "advised": self.advised,
            "suggested": self.suggested,
            "recent": self.recent,
            "stuck": self.stuck,
            "hold": self.hold.to_json() if self.hold else None,
            "waitlist": self.waitlist,
            "waitlist_declined": self.waitlist_declined,
        }
        return out

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ChatState:
        """The state from its stored form."""
        c = value.get("collected", {})
        i = value.get("internal", {})
        return cls(
            stage=value.get("stage", "complaint"),
            mode=c.get("mode", "book"),
            logged_in=bool(i.get("logged_in")),
            complaint=c.get("complaint"),
            symptoms=list(c.get("symptoms") or []),
            findings=Findings.from_json(
                i.get("findings"),
                urgency=c.get("urgency") or "routine",
                reasons=c.get("triage_reasons") or (),
            ),
            treatment=c.get("treatment"),
            treatment_named=bool(i.get("treatment_named")),
            child=bool(c.get("for_child")),
            age=i.get("age"),
            dentist_ids=c.get("dentist_ids"),
            dentist_label=c.get("dentist"),
            preference_given=bool(i.get("preference_given")),
            when=When.from_json(i.get("when")),
            name=c.get("name"),
            email=c.get("email"),
            phone=c.get("phone"),
            slot=OfferedSlot.from_json(c["slot"]) if c.get("slot") else None,
            offered=[OfferedSlot.from_json(s) for s in c.get("offered") or []],
            offered_urgent=bool(i.get("offered_urgent")),
            seen=list(i.get("seen") or []),
            reference=i.get("reference"),
            booking=i.get("booking"),
            booked_reference=i.get("booked_reference"),
            misunderstood=int(i.get("misunderstood") or 0),
            lookups_failed=int(i.get("lookups_failed") or 0),
            freeform_complaint=bool(i.get("freeform_complaint")),
            taken=list(i.get("taken") or []),
            asked=[f for f in (c.get("red_flags") or {}).get("asked") or () if f in QUESTIONS],
            resume=i.get("resume"),
            advised=bool(i.get("advised")),
            suggested=i.get("suggested"),
            recent=[str(t) for t in i.get("recent") or ()][-2:],
            stuck=int(i.get("stuck") or 0),
            # states stored before the chat held slots have none
            hold=HeldSlot.from_json(i["hold"]) if i.get("hold") else None,
            waitlist=i.get("waitlist") if i.get("waitlist") in ("offered", "wanted") else None,
            waitlist_declined=bool(i.get("waitlist_declined")),
            waitlisted=c.get("waitlist"),
        )


def keep_booking(appointment: dict[str, Any]) -> dict[str, Any]:
    """The part of an appointment the conversation keeps."""
    return {key: appointment.get(key) for key in BOOKING_FIELDS}


@dataclass(slots=True)
class KnownPatient:
    """A logged-in patient's details from their account (the phone may be missing)."""

    name: str
    email: str
    phone: str | None


@dataclass(slots=True)
class Turn:
    """One exchange in progress, then its result: the new state, replies, any appointment."""

    state: ChatState
    replies: list[Reply] = field(default_factory=list)
    appointment: dict[str, Any] | None = None

    def say(self, text: str, quick_replies: list[QuickReply] | None = None) -> None:
        """Add an assistant message."""
        self.replies.append(Reply(text, quick_replies or []))

    def add(self, reply: Reply) -> None:
        """Add a prepared assistant message."""
        self.replies.append(reply)
