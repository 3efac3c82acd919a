"""Scripted conversations with expected outcomes: the format, the checks and a runner.

One conversation is one JSON object (see `bench/conversations.jsonl`)::

    {"name": "...", "tags": ["routine"], "patient": false, "booking": false,
     "turns": [{"say": "I need a check-up", "stage": "preference"},
               {"say": "{offer:1}", "stage": "details"},
               {"take": "chosen"}, ...],
     "outcome": {"appointment": "booked", "urgency": "routine", "dentist": "Patel"}}

`patient`: the patient is logged in; `booking`: they already have an appointment (its
reference and e-mail fill `{ref}` and `{email}`). A turn either says something — with
`{offer:N}` standing for the N-th quick reply of the latest slot offer — or `take`s a
slot ("chosen" or "offer:N") as someone else would, through the clinic. Checks per turn:
`stage`, `says` / `not_says` (substrings of the assistant's text, any case), `urgency`,
`collected` (exact values), `offered` (every offered slot: `dentist`, `weekday`, `after`,
`before`, `within_hours`). `outcome` checks the last appointment returned.

The same file runs through the HTTP API in the tests and through `MemoryDriver` (or the
real services) in `bench/chatbot_eval.py`.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from dentalcare.chatbot.dialogue import Dialogue
from dentalcare.chatbot.memory import MemoryClinic, demo_clinic
from dentalcare.chatbot.ports import OfferedSlot, PatientDetails
from dentalcare.chatbot.state import ChatState, KnownPatient
from dentalcare.chatbot.understanding import Context, RuleBasedUnderstanding
from dentalcare.vocabulary import ACTIVE

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PLACEHOLDER = re.compile(r"\{(offer:\d+|ref|email)\}")


class Driver(Protocol):
    """Something that holds one conversation with the assistant (HTTP, in-process, …)."""

    async def existing_booking(self, *, logged_in: bool) -> dict[str, Any]:
        """Give the (future) patient an appointment; the appointment JSON."""
        ...

    async def start(self, *, logged_in: bool) -> dict[str, Any]:
        """Open the session: `{session_id, messages}`."""
        ...

    async def send(self, text: str) -> dict[str, Any]:
        """One message: `{messages, state, appointment}` as the API returns it."""
        ...

    async def take(self, slot: dict[str, Any]) -> None:
        """Someone else books `slot` (its JSON from `state.collected`)."""
        ...

    def clock(self) -> datetime:
        """What time it is for the assistant (aware)."""
        ...


@dataclass
class Result:
    """How one conversation went."""

    name: str
    ok: bool
    failures: list[str] = field(default_factory=list)
    turn_ms: list[float] = field(default_factory=list)


def load(path: Path) -> list[dict[str, Any]]:
    """The conversations of a JSONL file."""
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip() and not line.startswith("//")]


def _texts(response: dict[str, Any]) -> str:
    return "\n".join(m["text"] for m in response.get("messages", []))


def _offer_choices(response: dict[str, Any]) -> list[str] | None:
    for message in reversed(response.get("messages", [])):
        values = [q["value"] for q in message.get("quick_replies", [])]
        if "other times" in values:
            return [v for v in values if v != "other times"]
    return None


def _fill(text: str, values: dict[str, str], choices: list[str]) -> str:
    def _one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key.startswith("offer:"):
            index = int(key.split(":")[1]) - 1
            if index >= len(choices):
                raise LookupError(f"no offered slot {index + 1} to pick")
            return choices[index]
        return values[key]

    return _PLACEHOLDER.sub(_one, text)


def _check_offered(
    expected: dict[str, Any], offered: list[dict[str, Any]], sent: datetime
) -> list[str]:
    problems = []
    if not offered:
        return ["no slots offered"]
    for slot in offered:
        label = f"{slot['dentist_name']} {slot['date']} {slot['time']}"
        if (
            "dentist" in expected
            and expected["dentist"].lower() not in slot["dentist_name"].lower()
        ):
            problems.append(f"offered {label}, not with {expected['dentist']}")
        day = datetime.fromisoformat(slot["date"]).weekday()
        if "weekday" in expected and _WEEKDAYS[day] != expected["weekday"]:
            problems.append(f"offered {label}, not on a {expected['weekday']}")
        if "after" in expected and slot["time"] < expected["after"]:
            problems.append(f"offered {label}, before {expected['after']}")
        if "before" in expected and slot["time"] >= expected["before"]:
            problems.append(f"offered {label}, not before {expected['before']}")
        if "within_hours" in expected:
            starts = datetime.fromisoformat(slot["starts_at"])
            if starts - sent > timedelta(hours=expected["within_hours"]):
                problems.append(f"offered {label}, not within {expected['within_hours']} h")
    return problems


def check_turn(expected: dict[str, Any], response: dict[str, Any], sent: datetime) -> list[str]:
    """What in `response` differs from the expectations of one turn."""
    problems = []
    state = response["state"]
    said = _texts(response).lower()
    if "stage" in expected and state["stage"] != expected["stage"]:
        problems.append(f"stage {state['stage']!r}, expected {expected['stage']!r}")
    for text in expected.get("says", []):
        if text.lower() not in said:
            problems.append(f"did not say {text!r}")
    for text in expected.get("not_says", []):
        if text.lower() in said:
            problems.append(f"said {text!r}")
    collected = state["collected"]
    if "urgency" in expected and collected.get("urgency") != expected["urgency"]:
        problems.append(f"urgency {collected.get('urgency')!r}, expected {expected['urgency']!r}")
    for key, value in expected.get("collected", {}).items():
        if collected.get(key) != value:
            problems.append(f"collected {key}={collected.get(key)!r}, expected {value!r}")
    if "offered" in expected:
        problems += _check_offered(expected["offered"], collected.get("offered") or [], sent)
    return problems


def check_outcome(expected: dict[str, Any], appointment: dict[str, Any] | None) -> list[str]:
    """What in the last appointment returned differs from the expected outcome."""
    kind = expected.get("appointment")
    if kind is None:
        return [] if appointment is None else [f"made {appointment['booking_reference']}"]
    if appointment is None:
        return [f"no appointment {kind}"]
    problems = []
    status = appointment.get("status")
    if kind == "cancelled" and status != "cancelled":
        problems.append(f"status {status!r}, not cancelled")
    if kind in ("booked", "rescheduled") and status not in ACTIVE:
        problems.append(f"status {status!r}")
    if kind == "booked":
        if appointment.get("booking_source") != "chatbot":
            problems.append(f"booking_source {appointment.get('booking_source')!r}")
        if not appointment.get("chief_complaint"):
            problems.append("no chief_complaint")
    for key in ("urgency", "patient_email", "patient_name"):
        if key in expected and appointment.get(key) != expected[key]:
            problems.append(f"{key} {appointment.get(key)!r}, expected {expected[key]!r}")
    dentist = expected.get("dentist")
    if dentist and dentist.lower() not in str(appointment.get("dentist_name")).lower():
        problems.append(f"dentist {appointment.get('dentist_name')!r}, expected {dentist!r}")
    return problems


async def run_conversation(driver: Driver, spec: dict[str, Any]) -> Result:
    """Play one scripted conversation and check every expectation."""
    result = Result(name=spec["name"], ok=True)
    logged_in = bool(spec.get("patient"))
    values: dict[str, str] = {}
    if spec.get("booking"):
        booking = await driver.existing_booking(logged_in=logged_in)
        values = {"ref": booking["booking_reference"], "email": booking["patient_email"]}
    response = await driver.start(logged_in=logged_in)
    choices: list[str] = []
    state: dict[str, Any] | None = None
    appointment: dict[str, Any] | None = None
    for number, turn in enumerate(spec["turns"], 1):
        if "take" in turn:
            collected = (state or {}).get("collected", {})
            target = turn["take"]
            offered = collected.get("offered") or []
            index = int(target.split(":")[1]) - 1 if target != "chosen" else 0
            slot = (
                collected.get("slot")
                if target == "chosen"
                else (offered[index] if index < len(offered) else None)
            )
            if slot is None:
                result.failures.append(f"turn {number}: nothing to take ({target})")
                break
            await driver.take(slot)
            continue
        try:
            text = _fill(turn["say"], values, choices)
        except LookupError as exc:
            result.failures.append(f"turn {number}: {exc}")
            break
        sent = driver.clock()
        began = time.perf_counter()
        response = await driver.send(text)
        result.turn_ms.append((time.perf_counter() - began) * 1000)
        state = response["state"]
        if response.get("appointment"):
            appointment = response["appointment"]
        choices = _offer_choices(response) or choices
        expected = json.loads(_fill(json.dumps(turn), values, choices))
        for problem in check_turn(expected, response, sent):
            result.failures.append(f"turn {number} ({text!r}): {problem}")
    result.failures += [
        f"outcome: {p}" for p in check_outcome(spec.get("outcome", {}), appointment)
    ]
    result.ok = not result.failures
    return result


class MemoryDriver:
    """Runs the dialogue in-process on an in-memory clinic, timing turns and understanding."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.clinic: MemoryClinic = demo_clinic(lambda: self.now, days=range(7))
        self.understanding = RuleBasedUnderstanding()
        self.dialogue = Dialogue(clinic=self.clinic, understanding=self.understanding)
        self.state = ChatState()
        self.understanding_ms: list[float] = []
        self.patient = KnownPatient("Alice Patient", "alice@example.com", "+1 555 0101")

    async def existing_booking(self, *, logged_in: bool) -> dict[str, Any]:
        """A booking three days ahead at 10:00 with the first dentist."""
        dentist = self.clinic.dentists_[0]
        day = self.now.date() + timedelta(days=3)
        slot = next(s for s in self.clinic.slots_of(dentist, day, day) if s.time.hour == 10)
        email = self.patient.email if logged_in else "guest.booker@example.com"
        return self.clinic.add_booking(slot, PatientDetails("Guest Booker", email, "+1 555 0199"))

    async def start(self, *, logged_in: bool) -> dict[str, Any]:
        """Open the conversation."""
        self.clinic.caller_email = self.patient.email if logged_in else None
        turn = self.dialogue.start(self.patient if logged_in else None)
        self.state = turn.state
        return {"session_id": "memory", "messages": [r.to_json() for r in turn.replies]}

    async def send(self, text: str) -> dict[str, Any]:
        """One turn, plus the same text through the understanding alone (the reference)."""
        context = Context(
            today=self.now.date(),
            directory=await self.clinic.dentists(),
            expecting=Dialogue._expecting(self.state),
            missing=self.state.missing_details(),
        )
        began = time.perf_counter()
        self.understanding.parse_now(text, context)
        self.understanding_ms.append((time.perf_counter() - began) * 1000)
        turn = await self.dialogue.respond(self.state, text, now=self.now)
        self.state = turn.state
        return {
            "messages": [r.to_json() for r in turn.replies],
            "state": turn.state.public(),
            "appointment": turn.appointment,
        }

    async def take(self, slot: dict[str, Any]) -> None:
        """Someone else books the slot."""
        self.clinic.take(OfferedSlot.from_json(slot))

    def clock(self) -> datetime:
        """The injected time."""
        return self.now
