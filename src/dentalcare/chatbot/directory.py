"""Which dentist the patient means: fuzzy names ("Dr Patel", "patel", "Dr Patal") and specialties.

Names are matched word by word with RapidFuzz, against the directory as it is now;
specialties from the words patients use ("the orthodontist", "a children's dentist").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from dentalcare.chatbot.ports import DentistInfo

# The words patients use for a specialist, and what the directory's specialization says.
# What a visit is for ("braces", "a root canal") is a treatment (`chatbot.treatments`),
# not a wish for a dentist; only asking for the specialist is.
SPECIALTIES: tuple[tuple[str, str, str], ...] = (
    (r"\borthodontist\b", r"orthodont", "an orthodontist"),
    (r"\bendodontist\b|\broot canal (specialist|dentist)\b", r"endodont", "an endodontist"),
    (r"\bperiodontist\b|\bgum (specialist|dentist)\b", r"periodont", "a periodontist"),
    (
        r"\bp(a)?ediatric dentist\b|\bp(a)?edodontist\b|\b(children'?s|kids'?|child)\s+dentist\b",
        r"p(a)?ediatric|child|p(a)?edodont",
        "a children's dentist",
    ),
    (
        r"\boral surgeon\b|\b(oral|maxillofacial|dental) surgery\b|\bsurgeon\b",
        r"surg",
        "an oral surgeon",
    ),
    (r"\bprosthodont\w*", r"prosthodont", "a prosthodontist"),
    (r"\bhygienist\b", r"hygien", "a hygienist"),
    (r"\bcosmetic\b", r"cosmetic|aesthetic", "a cosmetic dentist"),
    (r"\bgeneral (dentist|dentistry)\b|\bgp dentist\b", r"general", "a general dentist"),
)
_ANYONE = re.compile(
    r"\b(any ?one|any ?body|any dentist|any doctor|whoever|don'?t mind who|do not mind who"
    r"|doesn'?t matter who|no preference|any of them|whichever|first available dentist"
    r"|don'?t care who|not fussy)\b"
)
_TITLE = re.compile(r"\b(dr|doctor|dentist)\.?\s+([a-z][a-z'\-]+)")
# Only "Dr X" names someone for certain ("my doctor said" names no one).
_DR = re.compile(r"\bdr\.?\s+([a-z][a-z'\-]{2,})")
_WORD = re.compile(r"[a-z][a-z'\-]+")
# E-mail addresses (the look-behind keeps the scan linear, as understanding._EMAIL).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(\.[\w-]+)+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that look like surnames often enough to mislead a fuzzy match.
_COMMON = frozenset(
    _words(
        """the and for with that this have has had from your you are was were will would could
    should about after before again tooth teeth pain time week today tomorrow morning
    afternoon evening please thanks thank actually make want need like book booking
    appointment dentist doctor anyone anybody change instead rather there their them then
    when what which where who whom whose here just very much more most some same than
    into over under only also cancel reschedule check cleaning clean filling crown hurt
    hurts monday tuesday wednesday thursday friday saturday sunday next earliest soon
    possible name email phone number good great fine okay sure right wrong yes nope
    better later early first last other another different mine ours"""
    )
)
_TITLED_THRESHOLD = 75
_BARE_THRESHOLD = 88


@dataclass(frozen=True, slots=True)
class DentistMatch:
    """Whom the patient asked for: some dentists (by name or specialty), or anyone."""

    dentists: tuple[DentistInfo, ...] = ()
    anyone: bool = False
    specialty: str | None = None
    # "Dr Williams" when no Dr Williams is in the directory (unknown, or no longer here).
    unknown: str | None = None

    @property
    def label(self) -> str:
        """How to refer to the choice in a reply."""
        if self.anyone or not self.dentists:
            return "any dentist"
        if len(self.dentists) == 1:
            return self.dentists[0].name
        if self.specialty:
            return self.specialty
        return " or ".join(d.name for d in self.dentists)


def _name_words(name: str) -> list[str]:
    words = _WORD.findall(name.lower())
    return [w for w in words if w not in ("dr", "doctor", "dds", "dmd", "bds", "prof")]


def _by_specialty(text: str, directory: Sequence[DentistInfo]) -> DentistMatch | None:
    for words, specialization, label in SPECIALTIES:
        if re.search(words, text):
            found = tuple(
                d for d in directory if re.search(specialization, d.specialization.lower())
            )
            return DentistMatch(dentists=found, specialty=label)
    return None


def _by_name(text: str, directory: Sequence[DentistInfo], *, titled_only: bool) -> DentistMatch:
    titled = {m.group(2) for m in _TITLE.finditer(text)}
    candidates = set(titled)
    if not titled_only:
        candidates |= {w for w in _WORD.findall(text) if len(w) >= 3 and w not in _COMMON}
    if not candidates:
        return DentistMatch()
    best: dict[str, float] = {}
    for dentist in directory:
        for word in candidates:
            threshold = _TITLED_THRESHOLD if word in titled else _BARE_THRESHOLD
            for part in _name_words(dentist.name):
                score = fuzz.ratio(word, part)
                if score >= threshold:
                    best[str(dentist.id)] = max(best.get(str(dentist.id), 0.0), score)
    if not best:
        return DentistMatch()
    top = max(best.values())
    return DentistMatch(dentists=tuple(d for d in directory if best.get(str(d.id)) == top))


def match_dentists(
    text: str, directory: Sequence[DentistInfo], *, titled_only: bool = False
) -> DentistMatch | None:
    """The dentist(s) `text` asks for, or None if it names none.

    With `titled_only`, bare words are not taken for surnames (used while the patient is
    giving their own name); "Dr Chen" still counts.
    """
    lowered = text.lower().replace("’", "'")
    lowered = _EMAIL.sub(" ", lowered)
    by_name = _by_name(lowered, directory, titled_only=titled_only)
    if by_name.dentists:
        return by_name
    by_specialty = _by_specialty(lowered, directory)
    if by_specialty is not None:
        return by_specialty
    if _ANYONE.search(lowered):
        return DentistMatch(anyone=True)
    for match in _DR.finditer(lowered):
        if match.group(1) not in _COMMON:
            return DentistMatch(unknown="Dr " + match.group(1).title())
    return None
