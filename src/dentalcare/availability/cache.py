"""A per-process cache of `GET /api/dentists/{id}/slots` answers.

Reading a dentist's 62 days costs a snapshot query (the dentist's and every chair's
occupancy) and a run of the slot engine; patients read far more often than anyone books.
An answer is kept as its JSON bytes, with the start of every slot, and served again until
something that could move a slot happens. Every such change is logged on the realtime
event log in its own transaction (`TABLES`: appointments and holds, hours, exceptions,
closures, dentists, chairs, treatment types and who performs them, the clinic's settings;
migration 0026), and each process's listener reads that log in commit order. So:

* the listener tells the cache the tables of each batch before the hub sends it on
  (`events_seen`): one of `TABLES` forgets every answer. A change made through another
  process, or by SQL outside the service, is seen as fast as realtime events are;
* after a unit of work of this process that could write commits (`committed`, hooked to
  `Database.after_commit`), nothing is served from the cache until a listener round that
  began after that commit has ended (`round_began` / `round_ended`): by then the commit's
  events, if any, have been seen. A client that changed something and reads again at once
  gets the new answer (read your writes), and commits that change nothing slots depend on
  (chat turns, messages, the background workers) delay the cache by one round, not clear it;
* when the listener connects, reconnects or loses the database it may have missed events:
  everything is forgotten, and while it is not listening nothing is served or kept;
* an answer expires with the first hold counted busy in it (the snapshot says when), and
  in any case `max_age` after it was computed.

Time passing needs no invalidation: a later request drops the starts now closer than the
minimum notice, as the engine would (it filters `starts_at < now + min_notice` and nothing
else depends on `now`). A request whose clock reads before the answer's is a miss.

An answer is stored only if nothing was forgotten while it was being computed
(`generation` is read before the query), so an answer read from before a change can never
outlive the change's event. Errors are never cached; booking itself is decided by the
database's constraints, whatever a cached page showed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson

# Event tables (realtime_events.table_name) whose changes can move a free slot.
TABLES = frozenset(
    {
        "appointments",
        "dentists",
        "dentist_availability",
        "availability_exceptions",
        "slots",  # holds: HELD / RELEASED
        "clinic_closures",
        "chairs",
        "treatment_types",
        "treatment_dentists",
        "clinic_settings",
    }
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_TAIL = b"]}"

# dentist, from, to, treatment type as asked (None: the clinic's default), staff caller.
Key = tuple[UUID, date, date, UUID | None, bool]


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // _ONE_US


@dataclass(frozen=True, slots=True)
class _Answer:
    head: bytes  # the object up to and including the `[` of "slots"
    items: bytes  # the slot objects, comma-separated
    offsets: list[int]  # where each slot's object starts in `items`
    starts: list[int]  # each slot's starts_at, microseconds since the epoch, ascending
    computed_at: int  # the `now` it was computed for (epoch microseconds)
    valid_until: int  # epoch microseconds


def encode(body: dict[str, Any]) -> tuple[bytes, bytes, list[int]]:
    """A slots answer (API.md `SlotsRead`, "slots" its last key) as its JSON head, its slot
    objects joined by commas, and where each object starts: head + items + "]}" is
    exactly orjson's rendering of `body`, and head + items[offsets[i]:] + "]}" the same
    answer from slot i on."""
    slots = body["slots"]
    whole = orjson.dumps(body)
    listing = orjson.dumps(slots)
    if not whole.endswith(listing + b"}"):
        raise ValueError('"slots" must be the last key of the answer')
    head = whole[: len(whole) - len(listing) - 1] + b"["
    items = listing[1:-1]
    offsets: list[int] = []
    at = 0
    # A slot object holds no braces inside its strings (dates, times, instants).
    for _ in slots:
        offsets.append(at)
        end = items.find(b"},", at)
        at = len(items) + 1 if end < 0 else end + 2
    return head, items, offsets


class SlotsCache:
    """The cache of one process (see the module's docstring)."""

    def __init__(
        self,
        *,
        max_age: timedelta,
        min_notice: timedelta,
        max_entries: int = 4096,
        max_bytes: int = 32 * 1024 * 1024,
        listening: Callable[[], bool] | None = None,
    ) -> None:
        self._max_age_us = max_age // _ONE_US
        self._notice_us = min_notice // _ONE_US
        # The least recently used answers go first past either bound (a 62-day answer is
        # 60-90 KB: the byte bound is the one that matters).
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[Key, _Answer] = OrderedDict()
        # Until a listener is attached, nothing is cached: changes would go unseen.
        self._listening: Callable[[], bool] = listening or (lambda: False)
        self.generation = 0
        self.hits = 0
        self.misses = 0
        # Writing commits of this process, the count when the listener's current round
        # began, and the count as of its last finished round.
        self._commits = 0
        self._round_mark = 0
        self._settled = 0

    @property
    def enabled(self) -> bool:
        """Whether answers are kept now."""
        return self._max_age_us > 0 and self._listening()

    def committed(self) -> None:
        """This process committed a unit of work that could write."""
        self._commits += 1

    def round_began(self) -> None:
        """The listener starts a round (it will read every commit made before now)."""
        self._round_mark = self._commits

    def round_ended(self) -> None:
        """The listener's round read the log to its horizon."""
        self._settled = self._round_mark

    def attach(self, listening: Callable[[], bool]) -> None:
        """Cache only while `listening()` says changes of other processes are seen."""
        self._listening = listening
        self.invalidate()

    def __len__(self) -> int:
        return len(self._entries)

    def invalidate(self) -> None:
        """Forget every answer (and any being computed)."""
        self.generation += 1
        self._entries.clear()
        self._bytes = 0

    def events_seen(self, tables: Collection[str] | None) -> None:
        """The listener handed on events of `tables` (None: it may have missed some)."""
        if tables is None or not TABLES.isdisjoint(tables):
            self.invalidate()

    def lookup(self, key: Key, now: datetime) -> bytes | None:
        """The cached answer for `key` as of `now`, or None."""
        if not self.enabled:
            if self._entries:
                self.invalidate()
            self.misses += 1
            return None
        if self._settled != self._commits:  # our own last change may not be seen yet
            self.misses += 1
            return None
        answer = self._entries.get(key)
        at = _us(now)
        if answer is None or not answer.computed_at <= at < answer.valid_until:
            if answer is not None:
                self._drop(key)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        first = bisect_left(answer.starts, at + self._notice_us)
        if first == 0:
            return answer.head + answer.items + _TAIL
        if first == len(answer.starts):
            return answer.head + _TAIL
        return answer.head + answer.items[answer.offsets[first] :] + _TAIL

    def store(
        self,
        key: Key,
        *,
        generation: int,
        body: dict[str, Any],
        starts: Sequence[datetime],
        now: datetime,
        expires: datetime | None,
    ) -> bytes:
        """Keep `body` (computed as of `now` by a request that read `generation` before
        its query; `starts` its slots' instants; `expires` the first live hold's expiry)
        and return its JSON."""
        head, items, offsets = encode(body)
        rendered = head + items + _TAIL
        if generation != self.generation or not self.enabled:
            return rendered
        at = _us(now)
        until = at + self._max_age_us
        if expires is not None:
            until = min(until, _us(expires))
        if key in self._entries:
            self._drop(key)
        answer = _Answer(head, items, offsets, [_us(s) for s in starts], at, until)
        self._entries[key] = answer
        self._bytes += _size(answer)
        while self._entries and (
            len(self._entries) > self._max_entries or self._bytes > self._max_bytes
        ):
            self._drop(next(iter(self._entries)))
        return rendered

    @property
    def size_bytes(self) -> int:
        """About how much memory the kept answers take."""
        return self._bytes

    def _drop(self, key: Key) -> None:
        self._bytes -= _size(self._entries.pop(key))


def _size(answer: _Answer) -> int:
    # The JSON, and two machine words per slot for the offsets and starts lists.
    return len(answer.head) + len(answer.items) + 16 * len(answer.starts) + 200
