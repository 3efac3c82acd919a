"""Symptom triage from published dental emergency guidance (NHS 111, SDCEP), as one rule table.

Pure: text in, urgency and the matched reasons out. The table is the whole policy:

- **emergency** — swelling spreading to the eye or neck, or making it hard to breathe,
  swallow or speak; bleeding that will not stop; a serious face or jaw injury; a head
  injury with loss of consciousness, vomiting or double vision. The patient is told to
  call their local emergency number or go to A&E/ER now; no routine booking is offered.
- **urgent** — a knocked-out or broken tooth; severe pain, above all when painkillers do
  not ease it; swelling; toothache with a fever; bleeding or severe pain after an
  extraction; signs of an abscess. The earliest slots within 24 hours are offered first.
- **routine** — everything else.

A phrase only counts when it is not negated just before ("no swelling", "I don't have a
fever"). When in doubt the rules err towards the more urgent answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dentalcare.vocabulary import Urgency

_ORDER: dict[Urgency, int] = {"routine": 0, "urgent": 1, "emergency": 2}

# Building blocks (regular expressions, matched case-insensitively).
TOOTH = r"\b(tooth|teeth|molars?|incisors?|premolars?|front one)\b"
PAIN = r"\b(pain\w*|ache[sd]?|aching|toothache|hurt\w*|sore|throbbing|agony)\b"
SWELLING = r"\b(swell\w*|swollen|puff(y|ed up)|bulging)\b"
BLEEDING = r"\b(bleed\w*|blood\w*)\b"
EYE_OR_NECK = r"\b(eyes?|eyelids?|neck|throat)\b"
HARD_TO_BREATHE = (
    r"\b(hard|difficult|difficulty|trouble|struggl\w*|can'?t|cannot|can not|unable to|barely)"
    r"(\s+\w+){0,2}?\s+(breath\w*|swallow\w*|speak\w*|talk\w*)"
)
WONT_STOP = (
    r"\b(won'?t|will not|doesn'?t|does not|hasn'?t|has not|haven'?t|can'?t|cannot|isn'?t|not)"
    r"\s+(\w+\s+)?stop\w*|\bnon-?stop\b|\bkeeps? (on )?bleeding\b|\bwon'?t clot\b"
    r"|\b(pouring|gushing)\b|\bbleeding (heavily|a lot|badly|everywhere)\b|\bheavy bleeding\b"
)
INJURY = (
    r"\b(injur\w*|accident|hit|smash\w*|punched|kicked|fell|fall(en)?|crash\w*|trauma|blow"
    r"|assault\w*|attacked)\b"
)
SERIOUS = r"\b(serious\w*|severe\w*|bad(ly)?|major|deep cut|huge|lots of blood|mangled)\b"
FACE_OR_JAW = r"\b(face|facial|jaw\w*|cheekbones?)\b"
JAW_BROKEN = (
    r"\b(broke|broken|fractured|dislocated)\s+(my\s+|his\s+|her\s+|the\s+)?jaw\b"
    r"|\bjaw\b(\s+\w+){0,3}?\s+(broken|fractured|dislocated)\b"
)
HEAD_INJURY = (
    r"\b(hit|banged|bumped|knocked|hurt|injured|smashed)\s+(my|his|her|their|the)\s+head\b"
    r"|\bhead (injury|injuries|trauma|knock)\b|\bconcussion\b"
)
HEAD_RED_FLAG = (
    r"\b(pass(ed|ing)? out|lost consciousness|loss of consciousness|unconscious|black(ed)? out"
    r"|(was|got|been) knocked out|knocked (myself|him|her) out|faint(ed)?|vomit\w*|threw up"
    r"|throwing up|being sick|been sick|double vision|seeing double|see double"
    r"|blurr(ed|y) vision)\b"
)
OUT = (
    r"\b(knocked|fell|falls|fallen|came|come|comes|popped|been)\s+(\w+\s+)?out\b|\bknocked-out\b"
    r"|\bavuls\w*|\blost\s+(a|my|the|his|her|their|one|two)\s+(front\s+)?(tooth|teeth)\b"
)
NOT_A_TOOTH_OUT = (
    r"\b(fillings?|crowns?|caps?|veneers?|braces?|brackets?|retainers?|dentures?|implants?)\b"
    r"(\s+\w+){0,2}?\s+(fell|came|come|comes|popped|fallen)"
)
BROKEN = r"\b(broke|broken|break|chipped|chip|cracked|crack|snapped|fractured|split)\b"
PAINKILLERS_FAIL = (
    r"\b(painkillers?|pain killers?|pain relief|pain medication|ibuprofen|paracetamol"
    r"|acetaminophen|tylenol|advil|nurofen|co-codamol|aspirin|medication|meds|pills|tablets)\b"
    r"[^.!?]{0,30}?(\bnot\b|n't\b|\bno longer\b|\bbarely\b|\bhardly\b|\buseless\b|\bnothing\b)"
    r"|\bnothing (helps|works|is helping|is working|touches it)\b"
    r"|\beven (with|after|on)( taking)? (painkillers?|ibuprofen|paracetamol|medication|pills)\b"
)
SEVERE_PAIN = (
    r"\b(severe|unbearable|excruciating|agoni[sz]ing|terrible|horrible|awful|extreme|intense"
    r"|worst|really bad|very bad|so bad|so much|a lot of)\b(\s+\w+){0,2}?\s+"
    r"(pain|toothache|ache|aching|hurts?|hurting)\b"
    r"|\b(pain|toothache|ache)\b(\s+\w+){0,3}?\s+(unbearable|excruciating|severe|killing me)\b"
    r"|\bkilling me\b|\bin agony\b|\b(10|ten) out of (10|ten)\b|\bcan'?t sleep\b"
    r"|\bkeeping me (up|awake)\b"
)
FEVER = r"\b(fever\w*|temperature|high temp|feverish|chills|shivering|shivery)\b"
EXTRACTION = (
    r"\b(extraction|extracted|pulled|removed|taken out|had (a|my|the)( \w+)? (tooth|teeth) out"
    r"|tooth out|teeth out)\b"
)
INFECTION = r"\b(abscess\w*|pus|infect\w*|gum boil)\b"


@dataclass(frozen=True, slots=True)
class Rule:
    """One line of the table: every pattern of `all_of` matches, none of `unless` does."""

    urgency: Urgency
    reason: str
    all_of: tuple[str, ...]
    unless: tuple[str, ...] = field(default=())


RULES: tuple[Rule, ...] = (
    # emergency: call the local emergency number or go to A&E/ER now
    Rule("emergency", "swelling spreading to the eye or neck", (SWELLING, EYE_OR_NECK)),
    Rule("emergency", "difficulty breathing, swallowing or speaking", (HARD_TO_BREATHE,)),
    Rule("emergency", "bleeding that will not stop", (BLEEDING, WONT_STOP)),
    Rule("emergency", "serious face or jaw injury", (INJURY, SERIOUS, FACE_OR_JAW)),
    Rule("emergency", "serious face or jaw injury", (JAW_BROKEN,)),
    Rule(
        "emergency",
        "head injury with loss of consciousness, vomiting or double vision",
        (HEAD_INJURY, HEAD_RED_FLAG),
    ),
    # urgent: the earliest slots within 24 hours
    Rule("urgent", "knocked-out tooth", (OUT, TOOTH), unless=(NOT_A_TOOTH_OUT,)),
    Rule("urgent", "broken tooth", (BROKEN, TOOTH)),
    Rule("urgent", "severe pain not eased by painkillers", (PAINKILLERS_FAIL,)),
    Rule("urgent", "severe pain", (SEVERE_PAIN,)),
    Rule("urgent", "swelling", (SWELLING,)),
    Rule("urgent", "toothache with a fever", (PAIN, FEVER)),
    Rule("urgent", "bleeding or severe pain after an extraction", (EXTRACTION, BLEEDING)),
    Rule(
        "urgent",
        "bleeding or severe pain after an extraction",
        (EXTRACTION, SEVERE_PAIN + "|" + PAIN),
    ),
    Rule("urgent", "bleeding or severe pain after an extraction", (r"\bdry socket\b",)),
    Rule("urgent", "possible infection or abscess", (INFECTION,)),
)

_COMPILED: dict[str, re.Pattern[str]] = {}

# A negation cue among the three words before a phrase cancels it ("no swelling",
# "I don't have a fever"); "won't stop" and the like are not negations of bleeding.
_NEGATION = re.compile(
    r"\b(no|not|without|never|none|isn'?t|aren'?t|wasn'?t|don'?t|doesn'?t|didn'?t|haven'?t"
    r"|hasn'?t|nor|neither)\b"
)
_NOT_STOPPING = re.compile(
    r"\b(won'?t|will not|doesn'?t|does not|hasn'?t|has not|haven'?t|can'?t|cannot|isn'?t|not)"
    r"\s+(\w+\s+)?stop\w*"
)
_CLAUSE_BREAK = re.compile(r"[.!?;,]|\bbut\b|\bhowever\b|\bthough\b")


@dataclass(frozen=True, slots=True)
class Triage:
    """The outcome: how urgent, and which rules said so."""

    urgency: Urgency
    reasons: tuple[str, ...] = ()


def _pattern(source: str) -> re.Pattern[str]:
    compiled = _COMPILED.get(source)
    if compiled is None:
        compiled = _COMPILED[source] = re.compile(source, re.IGNORECASE)
    return compiled


def _negated(text: str, start: int) -> bool:
    before = _CLAUSE_BREAK.split(text[max(0, start - 60) : start])[-1]
    before = _NOT_STOPPING.sub(" ", before)
    words = before.split()[-3:]
    return bool(_NEGATION.search(" ".join(words)))


def _affirmed(pattern: str, text: str) -> bool:
    return any(not _negated(text, m.start()) for m in _pattern(pattern).finditer(text))


def _applies(rule: Rule, text: str) -> bool:
    if not all(_affirmed(p, text) for p in rule.all_of):
        return False
    return not any(_pattern(p).search(text) for p in rule.unless)


def triage(text: str) -> Triage:
    """Classify what the patient wrote: the most urgent level any rule gives, with reasons."""
    normalised = " ".join(text.lower().replace("’", "'").split())
    matched = [rule for rule in RULES if _applies(rule, normalised)]
    if not matched:
        return Triage("routine")
    urgency = max((rule.urgency for rule in matched), key=_ORDER.__getitem__)
    reasons: list[str] = []
    for rule in matched:
        if rule.urgency == urgency and rule.reason not in reasons:
            reasons.append(rule.reason)
    return Triage(urgency, tuple(reasons))


def more_urgent(a: Urgency, b: Urgency) -> Urgency:
    """The more urgent of two levels."""
    return a if _ORDER[a] >= _ORDER[b] else b
