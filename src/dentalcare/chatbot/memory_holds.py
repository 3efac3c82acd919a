"""The in-memory clinic's holds, by the holds service's rules: a live hold is busy to
everyone but its holder, a caller has one at a time, and a lapsed one is busy to nobody
(swept or not)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from uuid import UUID

from dentalcare.availability.slots import Busy
from dentalcare.chatbot.ports import OfferedSlot


@dataclass(frozen=True, slots=True)
class MemoryHold:
    """A hold: the slot, until when, and whose (`user:` the logged-in caller's e-mail, or
    `token:` a guest's token)."""

    slot: OfferedSlot
    expires_at: datetime
    owner: str


@dataclass
class MemoryHolds:
    """The holds by id, each kept for `minutes`."""

    minutes: int = 5
    by_id: dict[str, MemoryHold] = field(default_factory=dict)

    def live(self, now: datetime) -> dict[str, MemoryHold]:
        """The holds that have not lapsed by `now`, by id."""
        return {hold_id: h for hold_id, h in self.by_id.items() if h.expires_at > now}

    def busy(
        self, dentist_id: UUID, *, length: timedelta, now: datetime, ignore: frozenset[str]
    ) -> list[Busy]:
        """The intervals the dentist's live holds keep (but those in `ignore`)."""
        return [
            Busy(h.slot.starts_at, h.slot.starts_at + length)
            for hold_id, h in self.live(now).items()
            if h.slot.dentist_id == dentist_id and hold_id not in ignore
        ]

    def of(self, owner: str | None) -> frozenset[str]:
        """The ids of `owner`'s holds, lapsed or not (None: nobody's)."""
        return frozenset(i for i, h in self.by_id.items() if owner and h.owner == owner)

    def add(self, slot: OfferedSlot, *, owner: str, now: datetime) -> tuple[str, datetime]:
        """A new hold on `slot` for `owner`, after their others go: its id and expiry."""
        for hold_id in self.of(owner):
            del self.by_id[hold_id]
        hold_id, expires_at = str(uuid.uuid4()), now + timedelta(minutes=self.minutes)
        self.by_id[hold_id] = MemoryHold(slot, expires_at, owner)
        return hold_id, expires_at

    def drop(self, hold_id: str, *, owner: str | None) -> MemoryHold | None:
        """Delete `owner`'s hold `hold_id`; the hold, or None if it is not theirs or gone."""
        found = self.by_id.get(hold_id)
        if found is None or owner is None or found.owner != owner:
            return None
        del self.by_id[hold_id]
        return found

    def lapse(self, now: datetime) -> None:
        """Every hold lapses by `now` (as if its holder had taken too long)."""
        self.by_id = {
            i: replace(h, expires_at=min(h.expires_at, now)) for i, h in self.by_id.items()
        }
