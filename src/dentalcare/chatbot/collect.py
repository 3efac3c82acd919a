"""Taking in one message: how a `Parse` updates the collected fields of a `ChatState`.

Two steps. `take_clinical` runs on every message at every stage: the triage folds into the
findings (urgency only rises, red flags once affirmed stay so), a pending red-flag question
is answered, and whom the visit is for is noted. `absorb` then takes the booking
information: the complaint and its treatment kind, a dentist, a time wish, a slot choice
and personal details. Information may arrive in any order and several pieces at once; a
correction simply overwrites ("actually Wednesday" replaces the day and keeps the time of
day, "make it Dr Patel" replaces the dentist). A changed wish clears the slots offered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from dentalcare.chatbot import offering, screen, treatments
from dentalcare.chatbot.directory import DentistMatch
from dentalcare.chatbot.ports import OfferedSlot
from dentalcare.chatbot.state import ChatState, Turn
from dentalcare.chatbot.understanding import Parse

_PERSONAL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(\.[\w-]+)+|\+?\d[\d\s().-]{6,}\d")
_GREETING = re.compile(r"^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening))\b[\s,.!]*", re.I)
_SOMETHING_ELSE = re.compile(r"^\s*something else\s*$", re.IGNORECASE)
# A wish to come in, in so many words ("check-up" alone names a visit, it is no wish).
_WANTS = re.compile(
    r"\b(book\w*|schedule|i'?d like|i would like|i want|i wanna|i need|can i (get|have|come)"
    r"|could i (get|have|come)|come in|get (me |him |her |them )?(in|seen)|make an appointment"
    r"|bring (my|our|him|her|them))\b",
    re.IGNORECASE,
)
# Asking to bring a child with no more said: a child's check-up.
_VISIT = re.compile(
    r"\b(visit|appointment|see (a|the) dentist|check|seen|bring|book\w*|register\w*)\b", re.I
)
# "Book me in for that" after a question about a treatment.
_FOR_THAT = re.compile(
    r"\b(book|have|do|get|go for|want)\b.{0,20}\b(that|it|one|them)\b"
    r"|\b(yes|ok|okay|sure|please)\b",
    re.IGNORECASE,
)


@dataclass(slots=True)
class Changes:
    """What one message changed in the booking flow."""

    complaint: bool = False
    urgency: bool = False
    preferences: bool = False
    chosen: bool = False
    other_times: bool = False
    details: bool = False
    # the red-flag question was answered (yes, no or not sure)
    screened: bool = False

    @property
    def any(self) -> bool:
        """Whether the message changed anything."""
        return any(
            (
                self.complaint,
                self.urgency,
                self.preferences,
                self.chosen,
                self.other_times,
                self.details,
                self.screened,
            )
        )


def _summary(text: str, limit: int = 300) -> str:
    cleaned = " ".join(_GREETING.sub("", _PERSONAL.sub(" ", text)).split())
    return cleaned[:limit].rstrip(" ,.;") or text[:limit]


def take_clinical(state: ChatState, parse: Parse) -> Changes:
    """Fold what the message says clinically into the state (every message, every stage)."""
    changes = Changes()
    before = state.findings
    findings = screen.take(before, parse.triage)
    if state.stage == "screen" and state.asked and parse.screen_answer is not None:
        # "Not sure" counts as a yes: the question is about an emergency.
        findings = screen.answer(findings, state.asked, yes=parse.screen_answer != "no")
        changes.screened = True
    if state.stage == "screen" and state.asked:
        still = set(screen.pending(findings))
        if not any(flag in still for flag in state.asked):
            changes.screened = True  # answered flag by flag in words ("no fever, no swelling")
    state.findings = findings
    changes.urgency = screen.rises(before.urgency, findings.urgency)
    if parse.patient.child is not None:
        state.child = parse.patient.child
    if parse.patient.age is not None:
        state.age = parse.patient.age
    if findings.knocked_out and findings.baby_tooth is None and state.child and state.age:
        # Front milk teeth start to give way to adult ones at about six.
        state.findings = replace(findings, baby_tooth=state.age < 6)
    return changes


def absorb(turn: Turn, parse: Parse, changes: Changes) -> Changes:
    """Update the booking fields from one message; corrections overwrite."""
    state = turn.state
    if state.mode == "book":
        _absorb_complaint(state, parse, changes)
    if state.stage in ("slot", "confirm", "details") and state.offered:
        ids = {str(d.id) for d in parse.dentist.dentists} if parse.dentist else set()
        chosen = offering.matching_offered(
            state.offered, choice=parse.choice, when=parse.when, dentist_ids=ids
        )
        if chosen is None and state.stage == "slot" and parse.answer is True:
            chosen = _the_obvious_one(state)
        if chosen is not None and (state.stage == "slot" or chosen != state.slot):
            state.slot, changes.chosen = chosen, True
    if not changes.chosen:
        _absorb_preferences(turn, parse, changes)
    for key in ("name", "email", "phone"):
        value = getattr(parse, key)
        if value and value != getattr(state, key):
            setattr(state, key, value)
            changes.details = True
    if changes.urgency and state.urgency == "urgent" and not state.offered_urgent:
        # Newly urgent: what was on offer was chosen for a routine visit.
        state.slot, state.offered = None, []
    return changes


def _absorb_complaint(state: ChatState, parse: Parse, changes: Changes) -> None:
    triage = parse.triage
    if state.stage == "complaint" and _SOMETHING_ELSE.match(parse.text):
        state.freeform_complaint = True
        return
    wants = bool(_WANTS.search(parse.text) or _FOR_THAT.search(parse.text))
    asked = bool({"price", "offered", "children", "address", "hours"} & parse.intents)
    wished = parse.treatment if parse.treatment and not parse.complaint else None
    if wished is None and state.complaint is None and not parse.complaint and wants:
        wished = state.suggested  # "how much is whitening?" … "book me in for that"
    if wished and state.complaint is None and (wants or not asked):
        state.complaint = treatments.phrase(wished).removeprefix("a ").removeprefix("an ")
        state.treatment, state.treatment_named = wished, True
        changes.complaint = True
    elif wished:
        state.suggested = wished  # a question about it, not a wish for it yet
    for_child = parse.patient.child and not parse.complaint and not parse.treatment
    if for_child and state.complaint is None and _VISIT.search(parse.text):
        state.complaint, changes.complaint = "a child's check-up", True
    freeform = state.stage == "complaint" and state.freeform_complaint and bool(parse.text)
    clinical = triage.urgency != "routine" or bool(triage.mentions)
    if parse.complaint or clinical or freeform:
        summary = parse.complaint or _summary(parse.text)
        if state.complaint is None:
            state.complaint, changes.complaint = summary, True
        elif parse.complaint and summary not in state.symptoms and summary != state.complaint:
            state.symptoms.append(summary)
            changes.complaint = True
    _update_treatment(state, parse)


def _update_treatment(state: ChatState, parse: Parse) -> None:
    """The treatment kind: the one the patient's words name (a later named one replaces
    it), made an emergency visit by urgency or pain, a child's check-up for a child."""
    if state.complaint is None:
        return
    asks_only = "price" in parse.intents and not parse.complaint
    if parse.treatment and not asks_only:
        named: str | None = parse.treatment
        state.treatment_named = True
    else:
        named = state.treatment if state.treatment_named else None
    state.treatment = treatments.kind_for(
        named,
        urgency=state.urgency,
        pain="pain" in state.findings.mentions,
        child=state.child,
        knocked_out=state.findings.knocked_out,
    )


def _absorb_preferences(turn: Turn, parse: Parse, changes: Changes) -> None:
    state = turn.state
    changed = False
    if "other_times" in parse.intents and state.stage in ("slot", "details", "confirm"):
        state.seen += ["|".join(s.key) for s in state.offered if "|".join(s.key) not in state.seen]
        state.offered, state.slot = [], None
        state.offered_urgent = state.preference_given = True
        changes.other_times = True
    if parse.dentist is not None:
        changed |= _absorb_dentist(turn, parse.dentist)
    if parse.when is not None:
        merged = state.when.merged(parse.when)
        if merged != state.when or not state.preference_given:
            state.when, changed = merged, True
    if state.stage == "preference" and parse.answer is False and not changed:
        changed = True  # "no" = no preference
    if changed:
        state.preference_given = True
        state.slot, state.offered, state.seen = None, [], []
        if state.stage == "slot" or state.offered_urgent:
            state.offered_urgent = True
        changes.preferences = True


def _absorb_dentist(turn: Turn, match: DentistMatch) -> bool:
    state = turn.state
    if state.mode == "reschedule":
        turn.say(
            "A new time stays with the same dentist. To see someone else, cancel this "
            "appointment and book a new one."
        )
        return False
    if match.unknown:
        turn.say(
            f"I can't find {match.unknown} among our dentists — they may not work here, or "
            "no longer take bookings — so I'll look at the dentists who do this kind of visit."
        )
        changed = state.dentist_ids is not None or not state.preference_given
        state.dentist_ids, state.dentist_label = None, "any dentist"
        return changed
    if match.anyone:
        changed = state.dentist_ids is not None or not state.preference_given
        state.dentist_ids, state.dentist_label = None, "any dentist"
        return changed
    if not match.dentists:
        turn.say(
            f"Sorry, we don't have {match.specialty} at the moment, so I'll look across "
            "all our dentists."
        )
        state.dentist_ids, state.dentist_label = None, "any dentist"
        return True
    ids = [str(d.id) for d in match.dentists]
    if ids == state.dentist_ids:
        return False
    state.dentist_ids, state.dentist_label = ids, match.label
    if not state.treatment_named and len(match.dentists) == 1 and state.complaint:
        home = treatments.home_kind(match.dentists[0])
        if (
            home
            and state.urgency == "routine"
            and (home != treatments.CHILD_CHECK_UP or state.child)
        ):
            state.treatment = home  # "an appointment with Dr Patel": an orthodontic visit
    return True


def _the_obvious_one(state: ChatState) -> OfferedSlot | None:
    """What "yes" picks: the only slot offered, or the only one at the wished time."""
    if len(state.offered) == 1:
        return state.offered[0]
    exact = [s for s in state.offered if state.when.at is not None and s.time == state.when.at]
    return exact[0] if len(exact) == 1 else None
