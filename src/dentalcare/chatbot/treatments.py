"""What the visit is for: the complaint as a treatment kind, and the dentists who perform it.

The kinds are the demo clinic's treatment types by name (issue 12 seeds them with exactly
these names, so the database side can resolve a name to a type). Who performs a kind is
read from the dentist's specialization: children go to the paediatric dentist, braces and
aligners to the orthodontist, root canals to the endodontist or a general dentist, wisdom
teeth to the oral surgeon, extractions to the oral surgeon or a general dentist, and an
emergency visit to anyone (an adult not to the children's dentist). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dentalcare.chatbot.ports import DentistInfo
from dentalcare.vocabulary import Urgency

CHECK_UP = "Check-up"
SCALE_AND_POLISH = "Scale & polish"
FILLING = "Filling"
ROOT_CANAL = "Root canal"
EXTRACTION = "Extraction"
WISDOM_TOOTH = "Wisdom tooth removal"
ORTHODONTIC = "Orthodontic consultation"
CHILD_CHECK_UP = "Child check-up"
EMERGENCY_VISIT = "Emergency visit"
WHITENING = "Whitening"

# Specializations, as patterns over the directory's `specialization` text.
GENERAL = r"general|family"
PAEDIATRIC = r"p(a)?ediatric|p(a)?edodont|child"
ORTHODONTIST = r"orthodont"
ENDODONTIST = r"endodont"
ORAL_SURGEON = r"surg"
HYGIENE = r"hygien|periodont"
COSMETIC = r"cosmetic|aesthetic"


@dataclass(frozen=True, slots=True)
class TreatmentKind:
    """A kind of visit: its name, usual length, who performs it, and who stands in."""

    name: str
    minutes: int
    # The specializations that perform it (all equally suitable) …
    performers: tuple[str, ...]
    # … and those used only when the clinic has none of them (None: everyone).
    fallback: tuple[str, ...] | None = ()
    # A short noun phrase for sentences ("a check-up").
    phrase: str = ""


KINDS: dict[str, TreatmentKind] = {
    kind.name: kind
    for kind in (
        TreatmentKind(CHECK_UP, 30, (GENERAL,), None, "a check-up"),
        TreatmentKind(SCALE_AND_POLISH, 45, (GENERAL, HYGIENE), None, "a scale & polish"),
        TreatmentKind(FILLING, 60, (GENERAL,), None, "a filling"),
        TreatmentKind(ROOT_CANAL, 90, (ENDODONTIST, GENERAL), None, "root canal treatment"),
        TreatmentKind(EXTRACTION, 45, (ORAL_SURGEON, GENERAL), None, "an extraction"),
        TreatmentKind(WISDOM_TOOTH, 60, (ORAL_SURGEON,), (GENERAL,), "wisdom tooth removal"),
        TreatmentKind(ORTHODONTIC, 30, (ORTHODONTIST,), None, "an orthodontic consultation"),
        TreatmentKind(CHILD_CHECK_UP, 20, (PAEDIATRIC,), (GENERAL,), "a child's check-up"),
        TreatmentKind(EMERGENCY_VISIT, 30, (), None, "an emergency visit"),
        TreatmentKind(WHITENING, 60, (GENERAL, COSMETIC), None, "teeth whitening"),
    )
}

# The words patients use, in order of precedence (the first kind that matches wins).
_WORDS: tuple[tuple[str, str], ...] = (
    (WISDOM_TOOTH, r"\bwisdom\b"),
    (
        ORTHODONTIC,
        r"\b(braces?|brackets?|aligners?|invisalign|orthodont\w*|crooked|straighten\w*"
        r"|retainers?|overbite|underbite|overcrowd\w*|gappy|gap between)\b",
    ),
    (ROOT_CANAL, r"\b(root canals?|root filling|nerve treatment|endodont\w*)\b"),
    (
        EXTRACTION,
        r"\b(extract\w*|pull(ed)? (out|it)|pulled|take (it|them|a tooth|the tooth|\w+ tooth) out"
        r"|taken out|tooth out|teeth out|removal|remove (a|my|the|this|that) tooth"
        r"|(needs?|has|have) to come out)\b",
    ),
    (
        FILLING,
        r"\b(fillings?|cavit\w*|hole in|holes in|decay\w*|rott\w*|filled|filling)\b",
    ),
    (WHITENING, r"\b(whiten\w*|whiter|bleach\w*|yellow teeth|teeth are yellow|stain\w*)\b"),
    (
        SCALE_AND_POLISH,
        r"\b(clean\w*|scale|polish|hygien\w*|tartar|plaque|descal\w*)\b",
    ),
    (
        CHECK_UP,
        r"\b(check[- ]?ups?|exams?|examination|routine|six[- ]month\w*|6[- ]month\w*|recall"
        r"|look at|a look|looked at|check (on|over)|new patient|register\w*|x-?rays?"
        r"|assessment)\b",
    ),
)
_COMPILED = tuple((name, re.compile(pattern)) for name, pattern in _WORDS)

# Children, as parents describe them.
_CHILD = re.compile(
    r"\b(my|our|the|both|both of my|both my|for (my|our)|her|his)\s+([\w'-]+\s+){0,3}?"
    r"(son|daughter|boy|girl|kid|kids|child|children|little one|toddler|baby|grandson"
    r"|granddaughter|stepson|stepdaughter|nephew|niece|twins|lad|lass|youngest|eldest)('?s)?\b"
)
_AGE = re.compile(
    r"\b(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen"
    r"|fourteen|fifteen|sixteen|seventeen)\s*(-|\s)?\s*((years?|yrs?)\s*-?\s*old|yo\b|y/o)"
    r"|\b(?:he|she|they)(?:'s| is| are)\s+(\d{1,2}|one|two|three|four|five|six|seven|eight|nine"
    r"|ten|eleven|twelve|thirteen|fourteen|fifteen)\b(?!\s*(:|am|pm|o'?clock|minutes|mins|hours))"
    r"|\baged?\s+(\d{1,2})\b|\((\d{1,2})\)"
)
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17,
}  # fmt: skip
# "Actually it's for me": the visit is for an adult after all.
_ADULT = re.compile(
    r"\b(for me|for myself|myself instead|me instead|an adult|adult check|grown[- ]up"
    r"|my (husband|wife|partner|mum|mom|mother|dad|father|boyfriend|girlfriend|grandma|grandad"
    r"|grandpa|nan))\b"
)
ADULT_AGE = 16


@dataclass(frozen=True, slots=True)
class Patient:
    """Who the visit is for, as far as one message says: a child (None: not said), an age."""

    child: bool | None = None
    age: int | None = None


def who(text: str) -> Patient:
    """Whether `text` (lower case) says the visit is for a child, and how old they are."""
    age: int | None = None
    for match in _AGE.finditer(text):
        raw = next(g for g in match.groups() if g and (g.isdigit() or g in _NUMBERS))
        age = int(raw) if raw.isdigit() else _NUMBERS[raw]
        break
    child_words = bool(_CHILD.search(text))
    if age is not None and age >= ADULT_AGE and (child_words or _ADULT.search(text)):
        return Patient(child=False, age=age)
    if _ADULT.search(text) and not child_words:
        return Patient(child=False)
    if age is not None and age < ADULT_AGE:
        someone_else = child_words or re.search(
            r"\b(he|she|they)\b|\bmy\s+\w+\s*(-|\s)?(y|old)", text
        )
        if someone_else:
            return Patient(child=True, age=age)
    if child_words:
        return Patient(child=True)
    return Patient()


# Kinds that name a visit only loosely: of these, the one mentioned first wins ("check-ups
# and maybe a clean as my teeth are stained" is a check-up).
_SOFT = (WHITENING, SCALE_AND_POLISH, CHECK_UP)


def named_kind(text: str) -> str | None:
    """The treatment kind the words of `text` (lower case) name, if any."""
    soft: list[tuple[int, str]] = []
    for name, pattern in _COMPILED:
        match = pattern.search(text)
        if match and name not in _SOFT:
            return name
        if match:
            soft.append((match.start(), name))
    return min(soft)[1] if soft else None


def kind_for(
    named: str | None, *, urgency: Urgency, pain: bool, child: bool, knocked_out: bool
) -> str:
    """The treatment kind for a complaint: `named` by its words, made an emergency visit by
    urgency or pain, a child's check-up for a child, a check-up when nothing says more."""
    if knocked_out or urgency != "routine":
        return EMERGENCY_VISIT
    if named in (WISDOM_TOOTH, ORTHODONTIC):
        return named
    if pain:
        return EMERGENCY_VISIT
    if child and named in (None, CHECK_UP, CHILD_CHECK_UP, SCALE_AND_POLISH):
        return CHILD_CHECK_UP
    if not child and named in (None, CHILD_CHECK_UP):
        return CHECK_UP
    return named or CHECK_UP


def _matching(directory: Sequence[DentistInfo], patterns: Sequence[str]) -> list[DentistInfo]:
    return [d for d in directory if any(re.search(p, d.specialization.lower()) for p in patterns)]


def suitable(directory: Sequence[DentistInfo], kind: str, *, child: bool) -> list[DentistInfo]:
    """The dentists to offer for `kind`, in directory order: a child's dentist for a child
    (but braces and wisdom teeth), else its performers, else its fallback, else everyone."""
    treatment = KINDS.get(kind)
    if treatment is None:
        return list(directory)
    if child and kind not in (ORTHODONTIC, WISDOM_TOOTH):
        own = (PAEDIATRIC, GENERAL) if kind == EMERGENCY_VISIT else (PAEDIATRIC,)
        found = _matching(directory, own)
        if found:
            return found
    if not treatment.performers:  # an emergency visit: anyone but the children's dentist
        adults = [d for d in directory if not re.search(PAEDIATRIC, d.specialization.lower())]
        return adults or list(directory)
    found = _matching(directory, treatment.performers)
    if not found and treatment.fallback:
        found = _matching(directory, treatment.fallback)
    return found or list(directory)


def home_kind(dentist: DentistInfo) -> str | None:
    """The kind a patient most likely means when they ask for this dentist and say no more."""
    specialization = dentist.specialization.lower()
    for pattern, kind in (
        (ORTHODONTIST, ORTHODONTIC),
        (PAEDIATRIC, CHILD_CHECK_UP),
        (ENDODONTIST, ROOT_CANAL),
        (ORAL_SURGEON, EXTRACTION),
    ):
        if re.search(pattern, specialization):
            return kind
    return None


def phrase(kind: str | None) -> str:
    """E.g. "a check-up"."""
    treatment = KINDS.get(kind or "")
    return treatment.phrase if treatment else "an appointment"


# How clinics name each kind in their own treatment list ("Routine exam", "Hygiene
# appointment", "Emergency appointment", "Root canal therapy", "Kids' check"), and the
# words that rule a name out for a kind ("Child check-up" is not the adults' check-up).
_TYPE_NAMES: dict[str, tuple[str, str | None]] = {
    WISDOM_TOOTH: (r"wisdom", None),
    ORTHODONTIC: (r"orthodont|braces|aligner|invisalign|straighten", None),
    ROOT_CANAL: (r"root\s*canal|endodont|root (filling|treatment)|\brct\b", None),
    CHILD_CHECK_UP: (r"child|kids?\b|kids'|p(a)?ediatric|junior|youngster", None),
    EMERGENCY_VISIT: (r"emergenc|urgent|same[- ]day|toothache|pain", None),
    EXTRACTION: (r"extract|removal|tooth out", r"wisdom"),
    FILLING: (r"filling|restor|cavit", r"root"),
    SCALE_AND_POLISH: (r"scale|polish|clean|hygien|descal", r"child|kid|p(a)?ediatric"),
    WHITENING: (r"whiten|bleach", None),
    CHECK_UP: (r"check[- ]?up|exam|recall|routine|assessment|new patient", None),
}
# A check-up is what a name says when it names nothing more specific.
_SPECIFIC = "|".join(f"(?:{fits})" for kind, (fits, _) in _TYPE_NAMES.items() if kind != CHECK_UP)
_TYPE_NAMES[CHECK_UP] = (_TYPE_NAMES[CHECK_UP][0], _SPECIFIC)


def clinic_type(kind: str | None, names: Sequence[str]) -> int | None:
    """Which of the clinic's treatment type `names` is the visit of `kind`: the same name,
    else the first whose words fit the kind (its index); None: none fits (the clinic's
    default treatment is booked)."""
    if not kind:
        return None
    wanted = kind.casefold()
    for index, name in enumerate(names):
        if name.strip().casefold() == wanted:
            return index
    if kind not in _TYPE_NAMES:
        return None
    fits, unless = _TYPE_NAMES[kind]
    for index, name in enumerate(names):
        lower = name.casefold()
        if re.search(fits, lower) and not (unless and re.search(unless, lower)):
            return index
    if kind == CHILD_CHECK_UP:  # a clinic without a children's visit: the check-up
        return clinic_type(CHECK_UP, names)
    return None
