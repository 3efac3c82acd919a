"""Triage: the rule table against many phrasings, including negations."""

from __future__ import annotations

import pytest

from dentalcare.chatbot.triage import RULES, more_urgent, triage

EMERGENCY = [
    ("My face is swollen right up to my eye", "swelling spreading to the eye or neck"),
    ("the swelling has spread down my neck", "swelling spreading to the eye or neck"),
    ("my jaw is swollen and it's hard to swallow", "difficulty breathing, swallowing or speaking"),
    ("I can't breathe properly since my cheek swelled up", None),
    ("swelling under my tongue, I'm struggling to speak", None),
    ("my gum is bleeding and it won't stop", "bleeding that will not stop"),
    ("It hasn't stopped bleeding for an hour", "bleeding that will not stop"),
    ("the socket keeps bleeding even with pressure", "bleeding that will not stop"),
    ("there's heavy bleeding from my mouth", "bleeding that will not stop"),
    ("I was in a car accident and my face is badly cut", "serious face or jaw injury"),
    ("I think I broke my jaw", "serious face or jaw injury"),
    ("my jaw might be dislocated", "serious face or jaw injury"),
    (
        "I hit my head and passed out, now a tooth is loose",
        "head injury with loss of consciousness, vomiting or double vision",
    ),
    ("banged my head on the pool edge and I've been sick twice", None),
    ("he hit his head, now seeing double and his tooth is chipped", None),
]

URGENT = [
    ("my tooth got knocked out playing rugby", "knocked-out tooth"),
    ("my son's front tooth fell out when he fell off his bike", "knocked-out tooth"),
    ("I lost a tooth in a fight", "knocked-out tooth"),
    ("I broke my front tooth", "broken tooth"),
    ("cracked a molar on a nut", "broken tooth"),
    ("severe pain and painkillers don't help", "severe pain not eased by painkillers"),
    ("the ibuprofen isn't working at all", "severe pain not eased by painkillers"),
    ("unbearable toothache", "severe pain"),
    ("I can't sleep with this toothache", "severe pain"),
    ("my gum is swollen", "swelling"),
    ("there's a swelling on my gum above the tooth", "swelling"),
    ("toothache and I have a fever", "toothache with a fever"),
    ("my tooth hurts and I've got a temperature", "toothache with a fever"),
    ("I had a tooth out yesterday and it's still bleeding", None),
    ("pain after my extraction", "bleeding or severe pain after an extraction"),
    ("I think I have a dry socket", "bleeding or severe pain after an extraction"),
    ("I think I have an abscess", "possible infection or abscess"),
    ("I fell and hit my face and my front tooth is broken", "broken tooth"),
    ("I hit my head and knocked out a tooth", "knocked-out tooth"),
]

ROUTINE = [
    "I need a check-up",
    "I'd like a cleaning",
    "my filling fell out",
    "my crown came off",
    "it has hurt for 3 days",
    "a dull ache when I drink something cold",
    "no swelling, no fever, just a dull ache",
    "doesn't hurt, no bleeding",
    "I'm not in severe pain, just sensitive teeth",
    "I'd like my teeth whitened",
    "braces consultation for my daughter",
    "my gums bleed a little when I brush",
    "",
]


@pytest.mark.parametrize(("text", "reason"), EMERGENCY)
def test_emergency(text: str, reason: str | None) -> None:
    result = triage(text)
    assert result.urgency == "emergency"
    if reason:
        assert reason in result.reasons


@pytest.mark.parametrize(("text", "reason"), URGENT)
def test_urgent(text: str, reason: str | None) -> None:
    result = triage(text)
    assert result.urgency == "urgent"
    if reason:
        assert reason in result.reasons
    assert result.reasons


@pytest.mark.parametrize("text", ROUTINE)
def test_routine(text: str) -> None:
    assert triage(text).urgency == "routine"
    assert triage(text).reasons == ()


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


def test_more_urgent() -> None:
    assert more_urgent("routine", "urgent") == "urgent"
    assert more_urgent("emergency", "urgent") == "emergency"
    assert more_urgent("routine", "routine") == "routine"
