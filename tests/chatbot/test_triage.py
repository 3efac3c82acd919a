"""Triage and the red-flag screen: the message corpus by category, negations, invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dentalcare.chatbot import screen
from dentalcare.chatbot.treatments import kind_for, named_kind, who
from dentalcare.chatbot.triage import FLAG_REASONS, RED_FLAGS, RULES, more_urgent, normalise, triage
from tests.chatbot.corpus import ALL, M

CASES = [(category, m) for category, messages in ALL.items() for m in messages]


def test_the_corpus_is_large_and_covers_every_level() -> None:
    assert len(CASES) >= 150
    assert {m.urgency for _, m in CASES} == {"routine", "urgent", "emergency"}


@pytest.mark.parametrize(
    ("category", "m"), CASES, ids=lambda v: v if isinstance(v, str) else v.text[:60]
)
def test_message(category: str, m: M) -> None:
    found = triage(m.text)
    assert found.urgency == m.urgency, (category, found)
    assert bool(found.reasons) == (m.urgency != "routine")
    findings = screen.take(screen.Findings(), found)
    if m.opens is not None:
        assert screen.pending(findings) == m.opens, found
    text = normalise(m.text)
    patient = who(text)
    if m.child is not None:
        assert patient.child is m.child
    if m.kind is not None:
        kind = kind_for(
            named_kind(text),
            urgency=findings.urgency,
            pain="pain" in findings.mentions,
            child=bool(patient.child),
            knocked_out=findings.knocked_out,
        )
        assert kind == m.kind


def test_most_urgent_level_wins_and_only_its_reasons_are_given() -> None:
    result = triage("I broke a tooth and now my face is swollen up to my eye")
    assert result.urgency == "emergency"
    assert result.reasons == ("swelling spreading to the eye or neck",)


def test_case_and_curly_apostrophes_do_not_matter() -> None:
    assert triage("IT WON’T STOP BLEEDING").urgency == "emergency"


def test_every_rule_has_a_reason_and_a_known_level() -> None:
    for rule in RULES:
        assert rule.reason
        assert rule.urgency in ("urgent", "emergency")
        assert rule.all_of
    assert set(FLAG_REASONS) == set(RED_FLAGS)


def test_more_urgent() -> None:
    assert more_urgent("routine", "urgent") == "urgent"
    assert more_urgent("emergency", "urgent") == "emergency"
    assert more_urgent("routine", "routine") == "routine"


def test_a_blow_told_before_makes_later_vomiting_an_emergency() -> None:
    fall = screen.take(screen.Findings(), triage("my son fell off the climbing frame"))
    assert fall.urgency != "emergency"
    assert screen.pending(fall) == ("unconscious", "vomiting", "vision", "jaw")
    sick = screen.take(fall, triage("he's been sick twice since he got home"))
    assert sick.urgency == "emergency"
    assert FLAG_REASONS["vomiting"] in sick.reasons
    # without a blow, being sick is not a dental red flag
    alone = screen.take(screen.Findings(), triage("he's been sick twice since he got home"))
    assert alone.urgency == "routine"


def test_answers_to_the_screen() -> None:
    pain = screen.take(screen.Findings(), triage("my tooth aches"))
    asked = screen.pending(pain)
    assert asked == ("spreading_swelling", "airway", "fever")
    cleared = screen.answer(pain, asked, yes=False)
    assert screen.pending(cleared) == () and cleared.urgency == "routine"
    alarmed = screen.answer(pain, asked, yes=True)
    assert alarmed.urgency == "emergency" and alarmed.reasons
    assert screen.pending(alarmed) == ()
    one = screen.answer(pain, ("fever",), yes=True)
    assert one.reasons == (FLAG_REASONS["fever"],)


def test_a_denial_answers_its_question_and_an_affirmation_cannot_be_taken_back() -> None:
    denied = screen.take(screen.Findings(), triage("toothache, no fever"))
    assert "fever" in denied.no and "fever" not in screen.pending(denied)
    affirmed = screen.take(denied, triage("oh I do have a temperature actually"))
    assert affirmed.urgency == "emergency" and "fever" in affirmed.yes
    again = screen.take(affirmed, triage("no fever now"))
    assert again.urgency == "emergency" and "fever" in again.yes and "fever" not in again.no


MESSAGES = [m.text for _, m in CASES]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(MESSAGES), min_size=1, max_size=8), st.data())
def test_urgency_never_drops_and_red_flags_stay(texts: list[str], data: st.DataObject) -> None:
    """Over any sequence of messages (and yes/no answers in between), urgency only rises,
    an affirmed red flag stays affirmed, and an emergency has nothing pending."""
    findings = screen.Findings()
    for text in texts:
        before = findings
        findings = screen.take(findings, triage(text))
        asked = screen.pending(findings)
        if asked and data.draw(st.booleans()):
            findings = screen.answer(findings, asked, yes=data.draw(st.booleans()))
        assert more_urgent(findings.urgency, before.urgency) == findings.urgency
        assert before.yes <= findings.yes
        assert not (findings.yes & findings.no)
        if findings.urgency == "emergency":
            assert screen.pending(findings) == () and findings.reasons
        if findings.yes - {"unconscious", "vomiting", "vision"}:
            assert findings.urgency == "emergency"
