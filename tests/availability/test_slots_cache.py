"""The slots cache on its own: its encoding, when it serves, when it forgets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import orjson
from hypothesis import given
from hypothesis import strategies as st

from dentalcare.availability.cache import SlotsCache, encode

T0 = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)
KEY = (uuid4(), date(2027, 3, 1), date(2027, 3, 2), None, False)
TREATMENT = str(uuid4())


def _answer(starts: list[datetime]) -> dict[str, Any]:
    return {
        "dentist_id": str(KEY[0]),
        "timezone": "Europe/Berlin",
        "slot_minutes": 30,
        "treatment_type_id": TREATMENT,
        "duration_minutes": 30,
        "slots": [
            {
                "date": s.date().isoformat(),
                "time": f"{s:%H:%M}",
                "starts_at": s,
                "ends_at": s + timedelta(minutes=30),
            }
            for s in starts
        ],
    }


def _starts(count: int, first: datetime = T0) -> list[datetime]:
    return [first + timedelta(minutes=30 * i) for i in range(count)]


def _cache(*, listening: bool = True, notice: int = 60, age: int = 30) -> SlotsCache:
    return SlotsCache(
        max_age=timedelta(seconds=age),
        min_notice=timedelta(minutes=notice),
        listening=lambda: listening,
    )


def _settle(cache: SlotsCache) -> None:
    cache.round_began()
    cache.round_ended()


def _store(cache: SlotsCache, starts: list[datetime], now: datetime, **kw: Any) -> bytes:
    return cache.store(
        KEY,
        generation=kw.pop("generation", cache.generation),
        body=_answer(starts),
        starts=starts,
        now=now,
        expires=kw.pop("expires", None),
    )


@given(count=st.integers(0, 40), first=st.integers(0, 45))
def test_the_encoding_is_orjsons_from_any_slot_on(count: int, first: int) -> None:
    body = _answer(_starts(count))
    head, items, offsets = encode(body)
    assert head + items + b"]}" == orjson.dumps(body)
    assert len(offsets) == count
    if first < count:
        tail = {**body, "slots": body["slots"][first:]}
        assert head + items[offsets[first] :] + b"]}" == orjson.dumps(tail)


def test_a_stored_answer_is_served_again_without_the_starts_now_too_close() -> None:
    cache = _cache(notice=60, age=7200)
    starts = _starts(10, first=T0 + timedelta(hours=1))  # 08:00 .. 12:30
    assert _store(cache, starts, T0) == orjson.dumps(_answer(starts))
    assert orjson.loads(cache.lookup(KEY, T0) or b"") == orjson.loads(orjson.dumps(_answer(starts)))
    # 40 minutes later the first two starts (08:00, 08:30) are within the hour's notice.
    later = cache.lookup(KEY, T0 + timedelta(minutes=40))
    assert later == orjson.dumps(_answer(starts[2:]))
    # A start exactly at now + notice is still offered, as the engine offers it.
    assert cache.lookup(KEY, T0 + timedelta(minutes=30)) == orjson.dumps(_answer(starts[1:]))
    assert cache.hits == 3


def test_an_answer_expires_with_its_first_hold_with_its_age_and_for_an_earlier_clock() -> None:
    cache = _cache()
    _store(cache, _starts(3), T0, expires=T0 + timedelta(seconds=10))
    assert cache.lookup(KEY, T0 + timedelta(seconds=9)) is not None
    assert cache.lookup(KEY, T0 + timedelta(seconds=10)) is None  # the hold lapsed
    _store(cache, _starts(3), T0)
    assert cache.lookup(KEY, T0 - timedelta(seconds=1)) is None  # a clock behind the answer
    _store(cache, _starts(3), T0)
    assert cache.lookup(KEY, T0 + timedelta(seconds=30)) is None  # max age
    assert len(cache) == 0


def test_events_of_slot_tables_forget_everything_and_others_do_not() -> None:
    cache = _cache()
    _store(cache, _starts(3), T0)
    cache.events_seen({"messages", "waitlist"})
    assert cache.lookup(KEY, T0) is not None
    for table in ("appointments", "slots", "chairs", "treatment_types", "clinic_settings"):
        _store(cache, _starts(3), T0)
        cache.events_seen({"messages", table})
        assert cache.lookup(KEY, T0) is None, table
    _store(cache, _starts(3), T0)
    cache.events_seen(None)  # the listener reconnected
    assert cache.lookup(KEY, T0) is None


def test_an_answer_computed_across_a_change_is_not_kept() -> None:
    cache = _cache()
    generation = cache.generation  # the request reads it, then queries
    cache.events_seen({"appointments"})  # a booking's event arrives meanwhile
    rendered = _store(cache, _starts(3), T0, generation=generation)
    assert rendered == orjson.dumps(_answer(_starts(3)))  # answered all the same
    assert cache.lookup(KEY, T0) is None and len(cache) == 0


def test_after_a_commit_of_our_own_nothing_is_served_until_a_later_round_ends() -> None:
    cache = _cache()
    _store(cache, _starts(3), T0)
    cache.committed()
    assert cache.lookup(KEY, T0) is None
    cache.round_ended()  # the end of a round that began before the commit
    assert cache.lookup(KEY, T0) is None
    _settle(cache)
    assert cache.lookup(KEY, T0) is not None  # the commit changed no slot table


def test_nothing_is_cached_while_the_listener_is_not_listening() -> None:
    listening = [True]
    cache = SlotsCache(
        max_age=timedelta(seconds=30), min_notice=timedelta(0), listening=lambda: listening[0]
    )
    _store(cache, _starts(3), T0)
    listening[0] = False
    assert cache.lookup(KEY, T0) is None
    _store(cache, _starts(3), T0)
    assert len(cache) == 0
    listening[0] = True
    assert cache.lookup(KEY, T0) is None  # what was kept before went


def test_a_zero_max_age_turns_the_cache_off_and_old_entries_go_first() -> None:
    off = SlotsCache(max_age=timedelta(0), min_notice=timedelta(0), listening=lambda: True)
    off.store(KEY, generation=0, body=_answer([]), starts=[], now=T0, expires=None)
    assert len(off) == 0 and off.lookup(KEY, T0) is None
    small = SlotsCache(
        max_age=timedelta(seconds=30),
        min_notice=timedelta(0),
        max_entries=2,
        listening=lambda: True,
    )
    keys = [(uuid4(), *KEY[1:]) for _ in range(3)]
    for key in keys:
        small.store(key, generation=0, body=_answer([]), starts=[], now=T0, expires=None)
    assert len(small) == 2
    assert small.lookup(keys[0], T0) is None and small.lookup(keys[2], T0) is not None


def test_the_least_recently_used_answers_go_past_the_byte_bound() -> None:
    one = len(orjson.dumps(_answer(_starts(40))))
    cache = SlotsCache(
        max_age=timedelta(seconds=30),
        min_notice=timedelta(0),
        max_bytes=int(2.5 * (one + 16 * 40 + 200)),
        listening=lambda: True,
    )
    keys = [(uuid4(), *KEY[1:]) for _ in range(3)]
    for key in keys[:2]:
        cache.store(
            key, generation=0, body=_answer(_starts(40)), starts=_starts(40), now=T0, expires=None
        )
    assert cache.lookup(keys[0], T0) is not None  # now the more recently used
    cache.store(
        keys[2], generation=0, body=_answer(_starts(40)), starts=_starts(40), now=T0, expires=None
    )
    assert len(cache) == 2 and cache.size_bytes <= 2.5 * (one + 16 * 40 + 200)
    assert cache.lookup(keys[1], T0) is None
    assert cache.lookup(keys[0], T0) is not None and cache.lookup(keys[2], T0) is not None
    cache.invalidate()
    assert cache.size_bytes == 0
