"""Taking in one message: how a `Parse` updates the collected fields of a `ChatState`.

Information may arrive in any order and several pieces at once; a correction simply
overwrites ("actually Wednesday" replaces the day and keeps the time of day, "make it
Dr Patel" replaces the dentist). A changed wish clears the slots offered so far.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dentalcare.chatbot import offering
from dentalcare.chatbot.directory import DentistMatch
from dentalcare.chatbot.ports import OfferedSlot
from dentalcare.chatbot.state import ChatState, Turn
from dentalcare.chatbot.triage import more_urgent
from dentalcare.chatbot.understanding import Parse

_PERSONAL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(\.[\w-]+)+|\+?\d[\d\s().-]{6,}\d")
_GREETING = re.compile(r"^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening))\b[\s,.!]*", re.I)
_SOMETHING_ELSE = re.compile(r"^\s*something else\s*$", re.IGNORECASE)


@dataclass(slots=True)
class Changes:
    """What one message changed in the booking flow."""

    complaint: bool = False
    urgency: bool = False
    preferences: bool = False
    chosen: bool = False
    other_times: bool = False
    details: bool = False

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
            )
        )


def _summary(text: str, limit: int = 300) -> str:
    cleaned = " ".join(_GREETING.sub("", _PERSONAL.sub(" ", text)).split())
    return cleaned[:limit].rstrip(" ,.;") or text[:limit]


def absorb(turn: Turn, parse: Parse) -> Changes:
    """Update the collected fields from one message; corrections overwrite."""
    state, changes = turn.state, Changes()
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
    return changes


def _absorb_complaint(state: ChatState, parse: Parse, changes: Changes) -> None:
    triage = parse.triage
    if triage.urgency != "routine":
        urgency = more_urgent(state.urgency, triage.urgency)
        changes.urgency = urgency != state.urgency
        state.urgency = urgency
        state.reasons += [r for r in triage.reasons if r not in state.reasons]
    if state.stage == "complaint" and _SOMETHING_ELSE.match(parse.text):
        state.freeform_complaint = True
        return
    freeform = state.stage == "complaint" and state.freeform_complaint and bool(parse.text)
    if not (parse.complaint or triage.urgency != "routine" or freeform):
        return
    summary = parse.complaint or _summary(parse.text)
    if state.complaint is None:
        state.complaint, changes.complaint = summary, True
    elif parse.complaint and summary not in state.symptoms and summary != state.complaint:
        state.symptoms.append(summary)
        changes.complaint = True


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
    return True


def _the_obvious_one(state: ChatState) -> OfferedSlot | None:
    """What "yes" picks: the only slot offered, or the only one at the wished time."""
    if len(state.offered) == 1:
        return state.offered[0]
    exact = [s for s in state.offered if state.when.at is not None and s.time == state.when.at]
    return exact[0] if len(exact) == 1 else None
