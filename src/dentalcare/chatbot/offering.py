"""Choosing which free slots to offer, and checking that offered slots are still free.

Everything goes through the `ClinicPort`, so the slots offered are always real free
slots as the services compute them; this module only decides whose and which 3–5 to
show: the dentists who perform the treatment (`treatments.suitable`), the patient's
named dentist among them, offers spread across those dentists, in true time order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from dentalcare.chatbot import replies, treatments
from dentalcare.chatbot.ports import ClinicPort, DentistInfo, HeldSlot, OfferedSlot
from dentalcare.chatbot.state import ChatState
from dentalcare.chatbot.when import When

MAX_OFFER = 5
SEARCH_DAYS = 14
WIDE_DAYS = 28
URGENT_WINDOW = timedelta(hours=24)
_SPREAD = timedelta(minutes=90)


@dataclass(frozen=True, slots=True)
class Offer:
    """Slots to offer and the sentence that introduces them (no slots: the sentence says so).
    `none_today`: a knocked-out adult tooth, and nothing is free today. `fits`: the slots
    are what the patient asked for (False: nothing was, these are the nearest, if any)."""

    slots: list[OfferedSlot]
    intro: str
    none_today: bool = False
    fits: bool = True


@dataclass(frozen=True, slots=True)
class Whom:
    """The dentists to look at (None: all), how to name them, and what to tell the patient
    about a dentist they asked for (removed, unknown, or not doing this treatment)."""

    ids: list[UUID] | None
    label: str = ""
    note: str = ""
    # The suitable dentists, when `ids` are the patient's own choice among them.
    suitable: list[UUID] | None = None


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _round_robin(ranked: Sequence[OfferedSlot], limit: int) -> list[OfferedSlot]:
    """Up to `limit` of `ranked` (best first), taking each dentist's next best in turn."""
    queues: dict[UUID, list[OfferedSlot]] = {}
    for slot in ranked:
        queues.setdefault(slot.dentist_id, []).append(slot)
    chosen: list[OfferedSlot] = []
    while len(chosen) < limit and any(queues.values()):
        for queue in queues.values():
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    return chosen


def pick(slots: Sequence[OfferedSlot], *, at: time | None, earliest: bool) -> list[OfferedSlot]:
    """Up to five slots, spread across dentists: nearest a wished time, the earliest, or
    spread over days and hours; listed in true time order."""
    if at is not None:
        ranked = sorted(slots, key=lambda s: (abs(_minutes(s.time) - _minutes(at)), s.starts_at))
        return sorted(_round_robin(ranked, MAX_OFFER), key=lambda s: s.starts_at)
    if earliest:
        return sorted(_round_robin(slots, MAX_OFFER), key=lambda s: s.starts_at)
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
    rest = [s for s in slots if s not in chosen]
    chosen += _round_robin(rest, MAX_OFFER - len(chosen))  # then fill up, still spread
    return sorted(chosen, key=lambda s: s.starts_at)


def whom(state: ChatState, directory: Sequence[DentistInfo]) -> Whom:
    """Whose slots to offer: the named dentist if they perform the treatment, else those who
    do (saying why the named one is not offered)."""
    fit = (
        treatments.suitable(directory, state.treatment, child=state.child)
        if state.treatment
        else list(directory)
    )
    fit_ids = [d.id for d in fit]
    everyone = len(fit) == len(directory)
    label = fit[0].name if len(fit) == 1 else ""
    if not state.dentist_ids:
        return Whom(None if everyone else fit_ids, label)
    named = [d for d in directory if str(d.id) in state.dentist_ids]
    if not named:
        note = (
            f"{state.dentist_label or 'That dentist'} is no longer taking bookings with us, so "
            "these are with other dentists."
        )
        return Whom(None if everyone else fit_ids, label, note)
    performing = [d for d in named if d.id in fit_ids]
    if performing:
        own = state.dentist_label if len(performing) == len(named) else ""
        return Whom([d.id for d in performing], own or performing[0].name, "", fit_ids)
    names = " or ".join(d.name for d in named)
    what = treatments.phrase(state.treatment)
    specialty = named[0].specialization
    others = label or "the dentists who do"
    note = f"{names} ({specialty}) doesn't do {what} here, so these are with {others}."
    return Whom(None if everyone else fit_ids, label, note)


def _for_whom(who: Whom) -> str:
    return f" with {who.label}" if who.label else ""


def _with_note(who: Whom, intro: str) -> str:
    return f"{who.note} {intro}" if who.note else intro


async def urgent_offer(
    clinic: ClinicPort,
    state: ChatState,
    *,
    now: datetime,
    tz: ZoneInfo,
    directory: Sequence[DentistInfo],
) -> Offer:
    """The earliest slots within 24 hours (the patient's dentist first, then anyone who
    does emergency visits); for a knocked-out adult tooth, only today's."""
    who = whom(state, directory)
    today = now.astimezone(tz).date()
    same_day = state.findings.knocked_out and state.findings.baby_tooth is not True
    horizon = now + URGENT_WINDOW
    last = today if same_day else horizon.astimezone(tz).date()
    intro = replies.urgent_intro(state.reasons, same_day=same_day)
    tiers = [who.ids, who.suitable] if who.suitable else [who.ids]
    for dentist_ids in tiers:
        slots = await clinic.free_slots(
            dentist_ids=dentist_ids, start=today, end=last, treatment_name=state.treatment
        )
        within = [
            s
            for s in slots
            if now < s.starts_at <= horizon
            and (not same_day or s.starts_at.astimezone(tz).date() == today)
        ]
        if within:
            if dentist_ids is not who.ids:
                intro += f" {who.label} has nothing free that soon, so these are with others."
            return Offer(pick(within, at=None, earliest=True), _with_note(who, intro))
    if same_day:
        return Offer([], "", none_today=True)
    ids = who.suitable or who.ids
    slots = await clinic.free_slots(
        dentist_ids=ids,
        start=today,
        end=today + timedelta(WIDE_DAYS),
        treatment_name=state.treatment,
    )
    later = pick([s for s in slots if s.starts_at > now][: MAX_OFFER * 3], at=None, earliest=True)
    return Offer(
        later,
        "That sounds urgent, but I have nothing free in the next 24 hours. The earliest I can "
        f"offer is below. If it gets worse, {replies.EMERGENCY_NUMBER}.",
    )


async def preferred_offer(
    clinic: ClinicPort,
    state: ChatState,
    *,
    now: datetime,
    tz: ZoneInfo,
    directory: Sequence[DentistInfo],
    seen: Sequence[str] = (),
) -> Offer:
    """Slots that fit the patient's wishes, relaxing them step by step if nothing fits."""
    who = whom(state, directory)
    today = now.astimezone(tz).date()
    wish = state.when
    start = max(wish.start or today, today)
    end = max(wish.end or start + timedelta(days=SEARCH_DAYS - 1), start)
    ids = who.ids
    slots = await clinic.free_slots(
        dentist_ids=ids, start=start, end=end, treatment_name=state.treatment
    )
    fresh = [s for s in slots if s.starts_at > now and not (seen and "|".join(s.key) in seen)]
    fitting = [s for s in fresh if wish.admits(s.date, s.time)]
    earliest = wish.asap or state.urgency != "routine"
    what = treatments.phrase(state.treatment) if state.treatment else ""
    for_what = f" for {what}" if what else ""
    if fitting:
        described = "" if wish.describe() == "any time" else f" ({wish.describe()})"
        intro = f"Here are free times{for_what}{_for_whom(who)}{described}:"
        if wish.asap:
            intro = f"Here are the earliest free times{for_what}{_for_whom(who)}:"
        return Offer(pick(fitting, at=wish.at, earliest=earliest), _with_note(who, intro))
    sorry = _with_note(who, f"Sorry, I have nothing free{_for_whom(who)} for {wish.describe()}.")
    any_day = replace(wish, after=None, before=None, at=None)
    same_days = [s for s in fresh if any_day.admits(s.date, s.time)] if wish.has_time else []
    if same_days:
        at = wish.at or wish.after or wish.before
        return Offer(
            pick(same_days, at=at, earliest=False), f"{sorry} The nearest times are:", fits=False
        )
    wide = await clinic.free_slots(
        dentist_ids=ids,
        start=today,
        end=today + timedelta(WIDE_DAYS),
        treatment_name=state.treatment,
    )
    around = [s for s in wide if s.starts_at > now and not (seen and "|".join(s.key) in seen)]
    if around:
        target = wish.start or today
        days = {max((s.date for s in around if s.date < target), default=None)}
        days.add(min((s.date for s in around if s.date >= target), default=None))
        closest = [s for s in around if s.date in days]
        nearest = pick(closest, at=wish.at, earliest=False)
        return Offer(nearest, f"{sorry} The nearest free times are:", fits=False)
    if who.suitable:
        others = await clinic.free_slots(
            dentist_ids=who.suitable,
            start=today,
            end=today + timedelta(WIDE_DAYS),
            treatment_name=state.treatment,
        )
        others = [s for s in others if s.starts_at > now]
        if others:
            return Offer(
                pick(others, at=None, earliest=True),
                f"{who.label} has nothing free in the next four weeks. Other dentists "
                "have these times:",
                fits=False,
            )
    return Offer(
        [],
        "Sorry, I can't find any free appointments in the next four weeks. Please call the "
        "clinic and we'll fit you in.",
        fits=False,
    )


async def nearest_to(
    clinic: ClinicPort,
    lost: OfferedSlot,
    *,
    now: datetime,
    same_dentist_only: bool,
    others: Sequence[UUID] | None = None,
    treatment_name: str | None = None,
) -> list[OfferedSlot]:
    """Free slots nearest a slot that was taken: that dentist first, then (of `others`, None:
    anyone) others that day."""
    own = await clinic.free_slots(
        dentist_ids=[lost.dentist_id],
        start=lost.date - timedelta(days=1),
        end=lost.date + timedelta(days=7),
        treatment_name=treatment_name,
    )
    own = [s for s in own if s.starts_at > now and s.key != lost.key]
    picked = sorted(own, key=lambda s: abs(s.starts_at - lost.starts_at))[:3]
    if not same_dentist_only:
        near = await clinic.free_slots(
            dentist_ids=others, start=lost.date, end=lost.date, treatment_name=treatment_name
        )
        near = [s for s in near if s.starts_at > now and s.dentist_id != lost.dentist_id]
        picked += sorted(near, key=lambda s: abs(s.starts_at - lost.starts_at))[:2]
    return sorted(picked, key=lambda s: s.starts_at)


async def still_free(
    clinic: ClinicPort,
    slots: Sequence[OfferedSlot],
    *,
    treatment_name: str | None = None,
    held: HeldSlot | None = None,
) -> set[tuple[str, str, str]]:
    """Which of `slots` (of the kind `treatment_name`) are free right now (one query for
    all their dentists). The slot of the conversation's own live hold, `held`, is free to
    it: the hold is what keeps it from everyone else, not a sign that someone took it."""
    if not slots:
        return set()
    found = await clinic.free_slots(
        dentist_ids=sorted({s.dentist_id for s in slots}),
        start=min(s.date for s in slots),
        end=max(s.date for s in slots),
        treatment_name=treatment_name,
        ignore_hold=held,
    )
    return {s.key for s in found}


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
