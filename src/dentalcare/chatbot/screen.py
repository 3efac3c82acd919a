"""The red-flag screen: what the conversation has established clinically, and what to ask.

As NHS 111 and SDCEP's acute-dental-problems guidance do, a mention of pain, trauma,
swelling or bleeding opens the red-flag questions that go with it; before anything is
offered the assistant asks the ones that have no answer yet, as one yes/no question.
A red flag the patient affirms — in the answer or in any later message — is an
emergency. Pure: `Findings` in, `Findings` out; the dialogue stores them in the state.

Urgency only rises: `take` and `answer` never lower it, and a red flag once affirmed
stays affirmed (a later "no" cannot take it back).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from dentalcare.chatbot.triage import (
    FLAG_REASONS,
    RED_FLAGS,
    Mention,
    RedFlag,
    Triage,
    counted,
    rank,
)
from dentalcare.vocabulary import Urgency

# What each red flag is called in the question (a list item of "Is any of this happening?").
QUESTIONS: dict[RedFlag, str] = {
    "spreading_swelling": "swelling spreading towards the eye or down the neck",
    "airway": "trouble breathing, swallowing or speaking",
    "bleeding": (
        "bleeding that hasn't stopped after 15–20 minutes of firm pressure (biting on a "
        "clean, damp pad)"
    ),
    "unconscious": "being knocked out or passing out, even for a moment",
    "vomiting": "vomiting since the injury",
    "vision": "double or blurred vision",
    "jaw": "a jaw that won't close, or teeth that suddenly don't meet properly",
    "fever": "a fever (feeling hot, shivery or generally unwell)",
}
# Which questions a mention opens.
OPENED_BY: dict[Mention, tuple[RedFlag, ...]] = {
    "pain": ("spreading_swelling", "airway", "fever"),
    "swelling": ("spreading_swelling", "airway", "fever"),
    "bleeding": ("bleeding",),
    "trauma": ("unconscious", "vomiting", "vision", "jaw"),
}


@dataclass(frozen=True, slots=True)
class Findings:
    """The clinical picture so far: urgency and its reasons, mentions, red-flag answers."""

    urgency: Urgency = "routine"
    reasons: tuple[str, ...] = ()
    mentions: frozenset[Mention] = frozenset()
    yes: frozenset[RedFlag] = frozenset()
    no: frozenset[RedFlag] = frozenset()
    knocked_out: bool = False
    baby_tooth: bool | None = None

    @property
    def emergency(self) -> bool:
        """Whether the conversation is an emergency (nothing may be offered or booked)."""
        return self.urgency == "emergency"

    def to_json(self) -> dict[str, Any]:
        """The stored form (urgency and reasons are stored as public fields of the state)."""
        return {
            "mentions": sorted(self.mentions),
            "yes": sorted(self.yes),
            "no": sorted(self.no),
            "knocked_out": self.knocked_out,
            "baby_tooth": self.baby_tooth,
        }

    @classmethod
    def from_json(
        cls, value: dict[str, Any] | None, *, urgency: Urgency, reasons: Iterable[str]
    ) -> Findings:
        """From the stored form."""
        value = value or {}
        return cls(
            urgency=urgency,
            reasons=tuple(reasons),
            mentions=frozenset(m for m in value.get("mentions") or () if m in OPENED_BY),
            yes=frozenset(f for f in value.get("yes") or () if f in QUESTIONS),
            no=frozenset(f for f in value.get("no") or () if f in QUESTIONS),
            knocked_out=bool(value.get("knocked_out")),
            baby_tooth=value.get("baby_tooth"),
        )


def _raised(findings: Findings, urgency: Urgency, reasons: Iterable[str]) -> Findings:
    """`findings` with `urgency` and its reasons folded in: a higher level replaces the
    reasons, the same level adds to them, a lower level changes nothing."""
    new = tuple(reasons)
    if rank(urgency) > rank(findings.urgency):
        return replace(findings, urgency=urgency, reasons=new)
    if urgency == findings.urgency and urgency != "routine":
        kept = findings.reasons + tuple(r for r in new if r not in findings.reasons)
        return replace(findings, reasons=kept)
    return findings


def take(findings: Findings, triage: Triage) -> Findings:
    """Fold one message's triage into the findings."""
    mentions = findings.mentions | triage.mentions
    affirmed = counted(triage.flags, mentions)  # a blow told in any message counts
    out = replace(
        findings,
        mentions=mentions,
        yes=findings.yes | affirmed,
        no=(findings.no | triage.denied) - findings.yes - affirmed,
        knocked_out=findings.knocked_out or triage.knocked_out,
        baby_tooth=findings.baby_tooth if triage.baby_tooth is None else triage.baby_tooth,
    )
    out = _raised(out, triage.urgency, triage.reasons)
    late = [f for f in RED_FLAGS if f in affirmed - counted(triage.flags, triage.mentions)]
    if late:
        # What made them red was told in an earlier message: triage alone did not count them.
        out = _raised(out, "emergency", [FLAG_REASONS[f] for f in late])
    return out


def pending(findings: Findings) -> tuple[RedFlag, ...]:
    """The red-flag questions the mentions open that have no answer yet, in a fixed order."""
    if findings.emergency:
        return ()
    opened = {flag for mention in findings.mentions for flag in OPENED_BY[mention]}
    return tuple(f for f in RED_FLAGS if f in opened and f not in findings.yes | findings.no)


def answer(findings: Findings, asked: Iterable[RedFlag], *, yes: bool) -> Findings:
    """The patient's yes or no to the question that listed `asked`."""
    flags = [f for f in RED_FLAGS if f in set(asked)]
    if not flags:
        return findings
    if not yes:
        return replace(findings, no=findings.no | (frozenset(flags) - findings.yes))
    if len(flags) == 1:
        reason = FLAG_REASONS[flags[0]]
    else:
        reason = "a yes to one of: " + ", ".join(FLAG_REASONS[f] for f in flags)
    raised = replace(findings, yes=findings.yes | frozenset(flags), no=findings.no - set(flags))
    return _raised(raised, "emergency", [reason])


def escalate(findings: Findings, reason: str) -> Findings:
    """The findings made an emergency for `reason` (e.g. no appointment in time)."""
    return _raised(findings, "emergency", [reason])


def rises(before: Urgency, after: Urgency) -> bool:
    """Whether urgency went up."""
    return rank(after) > rank(before)
