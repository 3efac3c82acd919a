"""Choosing which free slots to offer, and checking that offered slots are still free.

Everything goes through the `ClinicPort`, so the slots offered are always real free
slots as the services compute them; this module only decides which 3–5 to show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from dentalcare.chatbot import replies
from dentalcare.chatbot.ports import ClinicPort, OfferedSlot
from dentalcare.chatbot.state import ChatState
from dentalcare.chatbot.when import When

MAX_OFFER = 5
SEARCH_DAYS = 14
WIDE_DAYS = 28
URGENT_WINDOW = timedelta(hours=24)
_SPREAD = timedelta(minutes=90)


@dataclass(frozen=True, slots=True)
class Offer:
    """Slots to offer and the sentence that introduces them (no slots: the sentence says so)."""

    slots: list[OfferedSlot]
    intro: str


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def pick(slots: Sequence[OfferedSlot], *, at: time | None, earliest: bool) -> list[OfferedSlot]:
    """Up to five slots: nearest a wished time, the earliest, or spread over days and hours."""
    if at is not None:
        ranked = sorted(slots, key=lambda s: (abs(_minutes(s.time) - _minutes(at)), s.starts_at))
        return sorted(ranked[:MAX_OFFER], key=lambda s: s.starts_at)
    if earliest:  # the earliest distinct times first: five dentists at 10:30 is one choice
        times: list[OfferedSlot] = []
        for slot in slots:
            if len(times) == MAX_OFFER:
                break
            if all(t.starts_at != slot.starts_at for t in times):
                times.append(slot)
        for slot in slots:
            if len(times) == MAX_OFFER:
                break
            if slot not in times:
                times.append(slot)
        return sorted(times, key=lambda s: s.starts_at)
    per_day = 2 if len({s.date for s in slots}) > 1 else MAX_OFFER
    chosen: list[OfferedSlot] = []
    # A few a day, well apart; first with a different dentist each time, then with anyone.
    for new_dentists_only in (True, False):
        for slot in slots:
            if len(chosen) == MAX_OFFER:
                break
            same_day = [c for c in chosen if c.date == slot.date]
            if (
                slot not in chosen
                and len(same_day) < per_day
                and all(abs(c.starts_at - slot.starts_at) >= _SPREAD for c in same_day)
                and not (new_dentists_only and any(c.dentist_id == slot.dentist_id for c in chosen))
            ):
                chosen.append(slot)
    for slot in slots:  # then fill up with the earliest
        if len(chosen) == MAX_OFFER:
            break
        if slot not in chosen:
            chosen.append(slot)
    return sorted(chosen, key=lambda s: s.starts_at)


def _ids(state: ChatState) -> list[UUID] | None:
    return [UUID(i) for i in state.dentist_ids] if state.dentist_ids else None


def _for_whom(state: ChatState) -> str:
    if state.dentist_label and state.dentist_ids:
        return f" with {state.dentist_label}"
    return ""


async def urgent_offer(
    clinic: ClinicPort, state: ChatState, *, now: datetime, tz: ZoneInfo
) -> Offer:
    """The earliest slots within 24 hours (the patient's dentist first, then anyone)."""
    horizon = now + URGENT_WINDOW
    today, last = now.astimezone(tz).date(), horizon.astimezone(tz).date()
    intro = replies.urgent_intro(state.reasons)
    ids = _ids(state)
    for dentist_ids in [ids, None] if ids else [None]:
        slots = await clinic.free_slots(dentist_ids=dentist_ids, start=today, end=last)
        within = [s for s in slots if now < s.starts_at <= horizon]
        if within:
            if dentist_ids is None and ids:
                intro += (
                    f" {state.dentist_label} has nothing free that soon, so these are with others."
                )
            return Offer(pick(within, at=None, earliest=True), intro)
    slots = await clinic.free_slots(dentist_ids=None, start=today, end=today + timedelta(WIDE_DAYS))
    later = [s for s in slots if s.starts_at > now][:MAX_OFFER]
    return Offer(
        later,
        "That sounds urgent, but I have nothing free in the next 24 hours. The earliest I can "
        f"offer is below. If it gets worse, {replies.EMERGENCY_NUMBER}.",
    )


async def preferred_offer(
    clinic: ClinicPort, state: ChatState, *, now: datetime, tz: ZoneInfo, seen: Sequence[str] = ()
) -> Offer:
    """Slots that fit the patient's wishes, relaxing them step by step if nothing fits."""
    today = now.astimezone(tz).date()
    wish = state.when
    start = max(wish.start or today, today)
    end = max(wish.end or start + timedelta(days=SEARCH_DAYS - 1), start)
    ids = _ids(state)
    slots = await clinic.free_slots(dentist_ids=ids, start=start, end=end)
    fresh = [s for s in slots if s.starts_at > now and not (seen and "|".join(s.key) in seen)]
    fitting = [s for s in fresh if wish.admits(s.date, s.time)]
    earliest = wish.asap or state.urgency != "routine"
    if fitting:
        described = "" if wish.describe() == "any time" else f" ({wish.describe()})"
        intro = f"Here are free times{_for_whom(state)}{described}:"
        if wish.asap:
            intro = f"Here are the earliest free times{_for_whom(state)}:"
        return Offer(pick(fitting, at=wish.at, earliest=earliest), intro)
    sorry = f"Sorry, I have nothing free{_for_whom(state)} for {wish.describe()}."
    any_day = replace(wish, after=None, before=None, at=None)
    same_days = [s for s in fresh if any_day.admits(s.date, s.time)] if wish.has_time else []
    if same_days:
        at = wish.at or wish.after or wish.before
        return Offer(pick(same_days, at=at, earliest=False), f"{sorry} The nearest times are:")
    wide = await clinic.free_slots(dentist_ids=ids, start=today, end=today + timedelta(WIDE_DAYS))
    around = [s for s in wide if s.starts_at > now and not (seen and "|".join(s.key) in seen)]
    if around:
        target = wish.start or today
        days = {max((s.date for s in around if s.date < target), default=None)}
        days.add(min((s.date for s in around if s.date >= target), default=None))
        closest = [s for s in around if s.date in days]
        nearest = pick(closest, at=wish.at, earliest=False)
        return Offer(nearest, f"{sorry} The nearest free times are:")
    if ids:
        others = await clinic.free_slots(
            dentist_ids=None, start=today, end=today + timedelta(WIDE_DAYS)
        )
        others = [s for s in others if s.starts_at > now]
        if others:
            return Offer(
                pick(others, at=None, earliest=True),
                f"{state.dentist_label} has nothing free in the next four weeks. Other dentists "
                "have these times:",
            )
    return Offer(
        [],
        "Sorry, I can't find any free appointments in the next four weeks. Please call the "
        "clinic and we'll fit you in.",
    )


async def nearest_to(
    clinic: ClinicPort, lost: OfferedSlot, *, now: datetime, same_dentist_only: bool
) -> list[OfferedSlot]:
    """Free slots nearest a slot that was taken: that dentist first, then others that day."""
    own = await clinic.free_slots(
        dentist_ids=[lost.dentist_id],
        start=lost.date - timedelta(days=1),
        end=lost.date + timedelta(days=7),
    )
    own = [s for s in own if s.starts_at > now and s.key != lost.key]
    picked = sorted(own, key=lambda s: abs(s.starts_at - lost.starts_at))[:3]
    if not same_dentist_only:
        others = await clinic.free_slots(dentist_ids=None, start=lost.date, end=lost.date)
        others = [s for s in others if s.starts_at > now and s.dentist_id != lost.dentist_id]
        picked += sorted(others, key=lambda s: abs(s.starts_at - lost.starts_at))[:2]
    return sorted(picked, key=lambda s: s.starts_at)


async def still_free(clinic: ClinicPort, slots: Sequence[OfferedSlot]) -> set[tuple[str, str, str]]:
    """Which of `slots` are free right now (one query per dentist)."""
    free: set[tuple[str, str, str]] = set()
    by_dentist: dict[UUID, list[OfferedSlot]] = {}
    for slot in slots:
        by_dentist.setdefault(slot.dentist_id, []).append(slot)
    for dentist_id, own in by_dentist.items():
        found = await clinic.free_slots(
            dentist_ids=[dentist_id],
            start=min(s.date for s in own),
            end=max(s.date for s in own),
        )
        free |= {s.key for s in found}
    return free


def matching_offered(
    offered: Sequence[OfferedSlot], *, choice: int | None, when: When | None, dentist_ids: set[str]
) -> OfferedSlot | None:
    """The offered slot the patient picked: by number, or by time, day and dentist."""
    if choice is not None and offered:
        if choice == -1:
            return offered[-1]
        if 1 <= choice <= len(offered):
            return offered[choice - 1]
        return None
    if when is None and not dentist_ids:
        return None
    candidates = list(offered)
    if when is not None:
        if when.at is None and not when.has_date:
            return None
        if when.at is not None:
            candidates = [s for s in candidates if s.time == when.at]
        if when.has_date:
            candidates = [s for s in candidates if when.admits(s.date, s.time)]
    if dentist_ids:
        candidates = [s for s in candidates if str(s.dentist_id) in dentist_ids]
    if len(candidates) == 1 or (candidates and when is not None and when.at is not None):
        return candidates[0]
    return None
