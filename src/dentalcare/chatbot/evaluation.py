"""Scripted conversations with expected outcomes: the format, the checks and a runner.

One conversation is one JSON object (see `bench/conversations.jsonl`)::

    {"name": "...", "category": "routine", "tags": ["routine"], "patient": false,
     "booking": false,
     "turns": [{"say": "I need a check-up", "stage": "preference"},
               {"say": "{offer:1}", "stage": "details"},
               {"take": "chosen"}, ...],
     "outcome": {"appointment": "booked", "urgency": "routine", "dentist": "Patel"}}

`patient`: the patient is logged in; `booking`: they already have an appointment (its
reference and e-mail fill `{ref}` and `{email}`). A turn either says something — with
`{offer:N}` standing for the N-th quick reply of the latest slot offer — or `take`s a
slot ("chosen" or "offer:N") as someone else would, through the clinic. The chosen slot
is held for the conversation, so taking it first lets the hold lapse (`lapse_holds`: the
patient took longer than `hold_minutes`); an offered one is not held. Checks per turn:
`stage` and `urgency` (a value, or a list of acceptable ones), `says` / `not_says`
(substrings of the assistant's text, any case), `collected` (exact values; a list for a
value that is no list: any of them), `offered`
(every offered slot: `dentist` (a name or a list of acceptable ones), `weekday`, `after`,
`before`, `within_hours`, `same_day`), `offered_if_slot` (the same, only if the turn
offered slots), `no_offer` (nothing offered), `not_repeated` (the last message differs
from the previous turn's). `outcome` checks the last appointment returned (`treatment`:
its `treatment_name` if it is one of the kinds, else the conversation's treatment;
`complaint_excludes`: a word its `chief_complaint` must not contain).

Every conversation is also held to three invariants (`invariant_problems`): once a turn
gives emergency advice, no later turn offers a slot and nothing is booked; nothing booked
ever has urgency "emergency"; the urgency never drops.

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
from dentalcare.chatbot.memory import DEMO_FACTS, MemoryClinic, demo_clinic
from dentalcare.chatbot.ports import ClinicFacts, OfferedSlot, PatientDetails
from dentalcare.chatbot.state import ChatState, KnownPatient
from dentalcare.chatbot.treatments import KINDS
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

    async def lapse_holds(self) -> None:
        """Every live hold lapses now (as if its holder had taken too long)."""
        ...

    def clock(self) -> datetime:
        """What time it is for the assistant (aware)."""
        ...

    def facts(self) -> ClinicFacts:
        """What the clinic behind the assistant publishes about itself."""
        ...


@dataclass
class Result:
    """How one conversation went."""

    name: str
    ok: bool
    failures: list[str] = field(default_factory=list)
    turn_ms: list[float] = field(default_factory=list)
    category: str = "other"


def load(path: Path) -> list[dict[str, Any]]:
    """The conversations of a JSONL file."""
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip() and not line.startswith("//")]


def _texts(response: dict[str, Any]) -> str:
    return "\n".join(m["text"] for m in response.get("messages", []))


def _last_text(response: dict[str, Any]) -> str | None:
    messages = response.get("messages") or []
    return str(messages[-1]["text"]) if messages else None


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


def category(spec: dict[str, Any]) -> str:
    """The category a conversation is reported under: its own, else its first tag."""
    return str(spec.get("category") or (spec.get("tags") or ["other"])[0])


def _one_of(expected: Any) -> list[Any]:
    return expected if isinstance(expected, list) else [expected]


def _check_offered(
    expected: dict[str, Any], offered: list[dict[str, Any]], sent: datetime
) -> list[str]:
    problems = []
    if not offered:
        return ["no slots offered"]
    for slot in offered:
        label = f"{slot['dentist_name']} {slot['date']} {slot['time']}"
        dentists = [d.lower() for d in _one_of(expected.get("dentist", []))]
        if dentists and not any(d in slot["dentist_name"].lower() for d in dentists):
            problems.append(f"offered {label}, not with {' or '.join(dentists)}")
        if expected.get("same_day") and slot["date"] != sent.date().isoformat():
            problems.append(f"offered {label}, not today")
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


def _demo_facts() -> set[str]:
    """The demo clinic's published facts, as the conversations quote them."""
    quoted = {DEMO_FACTS.phone or "", DEMO_FACTS.address or ""}
    for treatment in DEMO_FACTS.treatments:
        if treatment.price:
            quoted |= {treatment.price, f"{treatment.name} {treatment.price}"}
            quoted |= {p for p in treatment.price.split() if p.startswith("£")}
    return {q.lower() for q in quoted if q}


DEMO_QUOTES = _demo_facts()


def _unpublished(facts: ClinicFacts) -> set[str]:
    """Demo facts this clinic does not publish: a reply cannot quote them, it must send the
    patient to the clinic instead."""
    published = {facts.phone or "", facts.address or ""}
    published |= {f"{t.name} {t.price}" for t in facts.treatments if t.price}
    text = " ".join(published).lower()
    return {quote for quote in DEMO_QUOTES if quote not in text}


def check_turn(
    expected: dict[str, Any],
    response: dict[str, Any],
    sent: datetime,
    unpublished: set[str] | frozenset[str] = frozenset(),
) -> list[str]:
    """What in `response` differs from the expectations of one turn (`unpublished`: demo
    facts that, when expected, must be replaced by a pointer to the clinic)."""
    problems = []
    state = response["state"]
    said = _texts(response).lower()
    if "stage" in expected and state["stage"] not in _one_of(expected["stage"]):
        problems.append(f"stage {state['stage']!r}, expected {expected['stage']!r}")
    for text in expected.get("says", []):
        if any(text.lower() in quote for quote in unpublished):
            if not ("call" in said or "don't have" in said):
                problems.append(f"neither said {text!r} nor sent the patient to the clinic")
        elif text.lower() not in said:
            problems.append(f"did not say {text!r}")
    for text in expected.get("not_says", []):
        if text.lower() in said:
            problems.append(f"said {text!r}")
    collected = state["collected"]
    if "urgency" in expected and collected.get("urgency") not in _one_of(expected["urgency"]):
        problems.append(f"urgency {collected.get('urgency')!r}, expected {expected['urgency']!r}")
    for key, value in expected.get("collected", {}).items():
        actual = collected.get(key)
        if actual != value and not (isinstance(value, list) and actual in value):
            problems.append(f"collected {key}={collected.get(key)!r}, expected {value!r}")
    offered = collected.get("offered") or []
    if "offered" in expected:
        problems += _check_offered(expected["offered"], offered, sent)
    if "offered_if_slot" in expected and offered:
        problems += _check_offered(expected["offered_if_slot"], offered, sent)
    if expected.get("no_offer") and (offered or _offer_choices(response)):
        problems.append(f"offered {len(offered)} slots")
    return problems


_RANK = {None: 0, "routine": 0, "urgent": 1, "emergency": 2}


def invariant_problems(responses: list[dict[str, Any]]) -> list[str]:
    """What breaks the safety invariants over one conversation's responses, in order:
    after emergency advice nothing is offered or booked; nothing is booked as an
    emergency; urgency never drops."""
    problems: list[str] = []
    advised_at: int | None = None
    highest = 0
    for number, response in enumerate(responses, 1):
        state = response["state"]
        collected = state["collected"]
        offered = bool(collected.get("offered")) or _offer_choices(response) is not None
        appointment: dict[str, Any] = response.get("appointment") or {}
        booked = appointment.get("status") in ACTIVE
        if advised_at is not None and offered:
            problems.append(f"turn {number}: offered slots after emergency advice")
        if advised_at is not None and booked and appointment.get("booking_source") == "chatbot":
            problems.append(f"turn {number}: booked after emergency advice")
        if booked and appointment.get("urgency") == "emergency":
            problems.append(f"turn {number}: booked an emergency")
        level = _RANK.get(collected.get("urgency"), 0)
        if level < highest:
            problems.append(f"turn {number}: urgency dropped to {collected.get('urgency')!r}")
        highest = max(highest, level)
        if advised_at is None and state["stage"] == "emergency":
            advised_at = number
    return problems


def check_outcome(
    expected: dict[str, Any],
    appointment: dict[str, Any] | None,
    state: dict[str, Any] | None = None,
) -> list[str]:
    """What in the last appointment returned (and the conversation's last `state`) differs
    from the expected outcome."""
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
    dentists = [d.lower() for d in _one_of(expected.get("dentist") or [])]
    booked_with = str(appointment.get("dentist_name")).lower()
    if dentists and not any(d in booked_with for d in dentists):
        problems.append(f"dentist {appointment.get('dentist_name')!r}, expected {dentists!r}")
    if "treatment" in expected:
        # A clinic without a treatment type of that name books its default type (and the
        # database clinic does not resolve names to types yet): then what the conversation
        # chose is what counts.
        collected = (state or {}).get("collected", {})
        treatment = appointment.get("treatment_name")
        if treatment not in KINDS:
            treatment = collected.get("treatment")
        if treatment != expected["treatment"]:
            problems.append(f"treatment {treatment!r}, expected {expected['treatment']!r}")
    excluded = expected.get("complaint_excludes")
    if excluded and excluded.lower() in str(appointment.get("chief_complaint")).lower():
        problems.append(f"chief_complaint {appointment.get('chief_complaint')!r} has {excluded!r}")
    return problems


async def run_conversation(driver: Driver, spec: dict[str, Any]) -> Result:
    """Play one scripted conversation and check every expectation."""
    result = Result(name=spec["name"], ok=True, category=category(spec))
    logged_in = bool(spec.get("patient"))
    values: dict[str, str] = {}
    if spec.get("booking"):
        booking = await driver.existing_booking(logged_in=logged_in)
        values = {"ref": booking["booking_reference"], "email": booking["patient_email"]}
    response = await driver.start(logged_in=logged_in)
    choices: list[str] = []
    state: dict[str, Any] | None = None
    appointment: dict[str, Any] | None = None
    responses: list[dict[str, Any]] = []
    last_said = _last_text(response)
    unpublished = _unpublished(driver.facts())
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
            if target == "chosen":
                await driver.lapse_holds()  # else nobody else could take it
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
        responses.append(response)
        if response.get("appointment"):
            appointment = response["appointment"]
        choices = _offer_choices(response) or choices
        expected = json.loads(_fill(json.dumps(turn), values, choices))
        problems = check_turn(expected, response, sent, unpublished)
        if expected.get("not_repeated") and _last_text(response) == last_said:
            problems.append("said the same as the turn before")
        last_said = _last_text(response)
        for problem in problems:
            result.failures.append(f"turn {number} ({text!r}): {problem}")
    result.failures += [
        f"outcome: {p}" for p in check_outcome(spec.get("outcome", {}), appointment, state)
    ]
    result.failures += [f"invariant: {p}" for p in invariant_problems(responses)]
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

    async def lapse_holds(self) -> None:
        """The in-memory clinic's holds lapse."""
        self.clinic.lapse_holds()

    def clock(self) -> datetime:
        """The injected time."""
        return self.now

    def facts(self) -> ClinicFacts:
        """The in-memory clinic's facts (the demo clinic's)."""
        return self.clinic.facts
