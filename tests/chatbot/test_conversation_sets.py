"""Every conversation set, in memory at awkward clock times, and the safety invariants.

The sets (`conversations/`, plus the original scripted `bench/conversations.jsonl`):

- `tuning.jsonl` and `bench/conversations.jsonl` — the rules were adjusted until these
  passed (with the message corpus in `corpus.py`);
- `holdout.jsonl` — 60 conversations written before the issue-16 assistant was run at all.
  Its first run passed 53 (88 %); the failures were then debugged on it, so it is a
  tuning set now (one expectation was corrected: Saturdays asked for is a preference);
- `holdout2.jsonl`, `holdout3.jsonl`, `holdout4.jsonl` — each written after the previous
  set's first run and before any fix; each first run is reported as it was (38/43, 36/39,
  32/32), after which the set was used for debugging like the first. `holdout4` has
  never been tuned on;
- `holdout5.jsonl` — 22 conversations written after the chat learned the clinic's
  treatment types (red flags in a later message, negations, specialties, a knocked-out
  adult tooth): first run 21/22 (a tooth knocked "clean out" was not read as knocked
  out; fixed in triage).

Each conversation is also held to the invariants of `evaluation.invariant_problems`
(nothing offered or booked after emergency advice, no emergency booked, urgency never
drops); `test_spliced_messages_keep_the_invariants` checks them on random splices of
the corpus and the conversations' messages.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dentalcare.chatbot.evaluation import MemoryDriver, invariant_problems, load, run_conversation
from tests.chatbot.corpus import ALL

HERE = Path(__file__).parent
SETS = {
    "scripted": HERE.parents[1] / "bench" / "conversations.jsonl",
    **{path.stem: path for path in sorted((HERE / "conversations").glob("*.jsonl"))},
}
CONVERSATIONS = [(name, spec) for name, path in SETS.items() for spec in load(path)]
FRIDAY_MORNING = datetime(2026, 11, 20, 10, 7, tzinfo=UTC)
# Clock times that have tripped dialogues up: late on a Saturday, just before midnight.
CLOCKS = [
    FRIDAY_MORNING,
    datetime(2026, 11, 21, 16, 45, tzinfo=UTC),
    datetime(2026, 11, 24, 23, 30, tzinfo=UTC),
]


def _said(spec: dict[str, Any]) -> list[str]:
    return [turn["say"] for turn in spec["turns"] if "say" in turn]


def test_the_sets_are_large_and_varied() -> None:
    assert len(CONVERSATIONS) >= 120
    messages = [text for _, spec in CONVERSATIONS for text in _said(spec)]
    messages += [m.text for corpus in ALL.values() for m in corpus]
    assert len(set(messages)) >= 300
    categories = {spec.get("category") for name, spec in CONVERSATIONS if name != "scripted"}
    for wanted in (
        "emergency",
        "emergency_later",
        "urgent",
        "knocked_out",
        "negation",
        "routine",
        "children",
        "specialty",
        "change_of_mind",
        "questions",
        "unclear",
    ):
        assert wanted in categories, wanted
    names = [spec["name"] for _, spec in CONVERSATIONS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("now", CLOCKS, ids=lambda d: d.strftime("%a%H%M"))
@pytest.mark.parametrize(
    ("kind", "spec"), CONVERSATIONS, ids=[spec["name"] for _, spec in CONVERSATIONS]
)
async def test_conversation_in_memory(kind: str, spec: dict[str, Any], now: datetime) -> None:
    result = await run_conversation(MemoryDriver(now), spec)
    assert result.ok, "\n".join(result.failures)


# Everything a patient says in the sets, the corpus, and the answers that move a booking on.
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
POOL = sorted(
    {_PLACEHOLDER.sub("1", text) for _, spec in CONVERSATIONS for text in _said(spec)}
    | {m.text for corpus in ALL.values() for m in corpus}
)
ANSWERS = ["yes", "no", "1", "the first one", "Jane Doe, jane@example.com, 07700 900123"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(st.one_of(st.sampled_from(POOL), st.sampled_from(ANSWERS)), min_size=1, max_size=8),
    st.sampled_from(CLOCKS),
)
def test_spliced_messages_keep_the_invariants(texts: list[str], now: datetime) -> None:
    """Any sequence of patients' messages: nothing offered or booked after emergency advice,
    no emergency booked, urgency never drops, never the same message twice in a row."""

    async def talk() -> list[dict[str, Any]]:
        driver = MemoryDriver(now)
        await driver.start(logged_in=False)
        return [await driver.send(text) for text in texts]

    responses = asyncio.run(talk())
    assert invariant_problems(responses) == []
    finals = [r["messages"][-1]["text"] for r in responses if r["messages"]]
    assert all(a != b for a, b in zip(finals, finals[1:], strict=False)), finals
