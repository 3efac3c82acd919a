"""BusyTimes (epoch-microsecond arrays) is the same engine input as a list of Busy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given

from dentalcare.availability.slots import Busy, BusyTimes, free_slots
from tests.availability.test_slots import MONDAY, cases, property_settings

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = datetime(2000, 1, 1, 0, 0, 0, 1) - datetime(2000, 1, 1)


def _times(busy: list[Busy], *, reverse: bool = False) -> BusyTimes:
    us = [((b.starts_at - _EPOCH) // _US, (b.ends_at - _EPOCH) // _US) for b in busy]
    us.sort(reverse=reverse)
    return BusyTimes([s for s, _ in us], [e for _, e in us])


def _offered(case: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(s.date, s.time, s.starts_at, s.ends_at) for s in free_slots(**case)]


@property_settings
@given(cases())
def test_busy_times_offer_what_busy_lists_offer(case: dict[str, Any]) -> None:
    expected = _offered(case)
    # Unsorted input (reversed) is sorted by the engine, as a list of Busy is.
    assert _offered({**case, "busy": _times(case["busy"], reverse=True)}) == expected
    as_chair = _offered({**case, "busy": [], "chairs": [case["busy"]]})
    assert _offered({**case, "busy": [], "chairs": [_times(case["busy"])]}) == as_chair
    # A free chair beside the busy one: the dentist's own busy times alone decide.
    both = {**case, "busy": _times(case["busy"]), "chairs": [_times(case["busy"]), _times([])]}
    assert _offered(both) == expected


def test_busy_times_of_unequal_lengths_are_rejected() -> None:
    with pytest.raises(ValueError):
        free_slots(
            weekly=[],
            exceptions=[],
            busy=BusyTimes([0, 1], [2]),
            timezone="UTC",
            slot_minutes=30,
            start=MONDAY,
            end=MONDAY,
            now=datetime(2000, 1, 1, tzinfo=UTC),
            min_notice=_US * 0,
        )
