"""When the patient would like to come: natural-language dates and times as a preference.

"next Tuesday afternoon", "tomorrow at 3pm", "as soon as possible", "after 5 on weekdays",
"actually Wednesday" become a `When`: a date range, allowed weekdays and a time-of-day
window (or one time). Durations and the past ("it has hurt for 3 days", "since Monday")
are not dates. `dateparser` only ever sees short candidate phrases found by the regular
expressions below, with a narrow configuration, and at most `MAX_DATE_CANDIDATES`
different ones per message (a repeated phrase is parsed once): each costs a few
milliseconds, so a message made of 500 "mon"s once cost a second of CPU.

Thread-safe: the understanding runs in worker threads. The patterns are compiled once and
only read; dateparser keeps shared caches (its own issues #441 and #813 report races), so
its calls take `_DATEPARSER_LOCK` — one at a time, a few milliseconds each.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

import dateparser

# Different date phrases handed to dateparser per message; the rest are not tried. A real
# message names one to three ("Monday or Wednesday, not before the 3rd").
MAX_DATE_CANDIDATES = 8
# How far back before a date phrase "after", "by", "until"… may stand.
_BOUNDARY_REACH = 32
_DATEPARSER_LOCK = threading.Lock()

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY = r"(mon|tues?|wed(nes)?|thu(rs?)?|fri|sat(ur)?|sun)(day)?"
_MONTH = (
    r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?"
    r"|oct(ober)?|nov(ember)?|dec(ember)?)"
)
_ORD = r"\d{1,2}(st|nd|rd|th)?"
_NUM = (
    r"(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|few|a couple of"
    r"|couple of|several)"
)

# Clauses about the past or about how long something has lasted say nothing about when to come.
_PAST_CLAUSE = re.compile(
    r"\b(since|ago|started|starting|began|begun|happened|broke|chipped|cracked|fell|knocked"
    r"|yesterday|last (night|week|month|weekend|" + _DAY + r")|for the (past|last))\b"
)
_DURATION = re.compile(
    r"\b(for|over|about|around|nearly|almost)\s+(the\s+)?(past\s+|last\s+)?"
    + _NUM
    + r"\s+(days?|weeks?|months?|years?|hours?|nights?)\b"
)
_CLAUSES = re.compile(r"[,.;!?]+|\s+(?:and|but|so|because)\s+")

_ASAP = re.compile(
    r"\b(asap|a\.s\.a\.p|as soon as (possible|you can|poss)|earliest|soonest|first available"
    r"|next available|right away|straight away|immediately|as early as possible|urgently"
    r"|quickest|soon as possible)\b"
)
_FLEXIBLE = re.compile(
    r"\b(any ?time|whenever|any day|anyday|don'?t mind|do not mind|no preference|flexible"
    r"|doesn'?t matter|does not matter|not fussy|either is fine|whatever works)\b"
)
_WEEKDAYS_ONLY = re.compile(r"\b(on |during the )?(weekdays|week days|weekday|during the week)\b")
_WEEKENDS = re.compile(r"\b(on |at )?weekends\b")
_THIS_WEEKEND = re.compile(r"\b(this|the|next|coming) weekend\b")
_PLURAL_DAY = re.compile(r"\b(mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays)\b")
_NEXT_WEEK = re.compile(r"\b(next|the following) week\b")
_THIS_WEEK = re.compile(r"\b(this|later this|rest of the) week\b")
_NEXT_MONTH = re.compile(r"\bnext month\b")
_SOON = re.compile(r"\b(in the next few days|next few days|within (a|the) week|this coming week)\b")
_DATE_PHRASE = re.compile(
    r"\b((the )?day after tomorrow|today|tonight|tomorrow|tmrw|tomorow"
    r"|(this |next |coming |on )?" + _DAY + r"\b"
    r"|" + _ORD + r"( of)? " + _MONTH + r"\b"
    r"|" + _MONTH + r" " + _ORD + r"\b"
    r"|the \d{1,2}(st|nd|rd|th)\b"
    r"|\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}/\d{1,2}(/\d{2,4})?"
    r"|in " + _NUM + r" (days?|weeks?))"
)
_DAY_BEFORE_DATE = re.compile(r"\b" + _DAY + r",?\s+(?=(the\s+)?\d{1,2}(st|nd|rd|th)?\b)")
_BOUNDARY = re.compile(r"\b(after|from|not before|before|by|until|till|no later than)\s+$")

_T = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.?|p\.m\.?|o'?clock)?"
_CLOCK = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.?|p\.m\.?|o'?clock)"
_BETWEEN = re.compile(r"\bbetween\s+" + _T + r"\s+(?:and|-|to)\s+" + _T + r"\b")
_AFTER = re.compile(
    r"\b(?:after|from|not before|any ?time after|later than)\s+" + _T + r"(?![\d/])"
)
_BEFORE = re.compile(r"\b(?:before|by|until|till|no later than|not after)\s+" + _T + r"(?![\d/])")
_AT = re.compile(
    r"\b(?:at|around|about|for|@)\s+" + _T + r"(?![\d/])"
    r"|\b" + _CLOCK + r"\b|\b(\d{1,2}):(\d{2})\b"
)
_NOON = re.compile(r"\b(noon|midday)\b")

# Parts of the day, as [after, before) windows.
_PARTS: tuple[tuple[re.Pattern[str], time | None, time | None], ...] = (
    (re.compile(r"\b(early morning|first thing)\b"), None, time(10, 0)),
    (re.compile(r"\blate morning\b"), time(10, 0), time(12, 0)),
    (re.compile(r"\b(morning|mornings)\b"), None, time(12, 0)),
    (re.compile(r"\b(lunch ?time|around lunch|over lunch)\b"), time(12, 0), time(14, 0)),
    (re.compile(r"\bearly afternoon\b"), time(12, 0), time(15, 0)),
    (re.compile(r"\blate afternoon\b"), time(15, 0), time(18, 0)),
    (re.compile(r"\b(afternoon|afternoons)\b"), time(12, 0), time(17, 0)),
    (re.compile(r"\bafter school\b"), time(15, 0), None),
    (re.compile(r"\b(evening|evenings|after work|tonight)\b"), time(17, 0), None),
)
# "can't do mornings", "not Monday", "mornings are no good": a part of the day or a day
# the patient rules out, by the words just before or just after it.
_RULED_OUT_BEFORE = re.compile(
    r"\b(not|no|never|can'?t do|cannot do|can'?t make|can'?t come|can'?t manage|can'?t go"
    r"|won'?t work|except|but not|other than|rather not|avoid|anything but|any day but"
    r"|any time but|apart from|unable to do|busy)\s*(on\s+|the\s+|in the\s+|at\s+|an?\s+)?$"
)
_RULED_OUT_AFTER = re.compile(
    r"^\s*(are|is|'s|'re)?\s*(no good|not good|bad|out|impossible|difficult|tricky|a no"
    r"|don'?t work|doesn'?t work|won'?t work|no use|not possible|not great|busy)\b"
    r"|^\s*(don'?t|doesn'?t|won'?t) (work|suit)\b"
)
# The complement of a ruled-out part of the day, as an [after, before) window.
_INSTEAD: dict[str, tuple[time | None, time | None]] = {
    "morning": (time(12, 0), None),
    "afternoon": (None, time(12, 0)),
    "evening": (None, time(17, 0)),
    "lunch": (None, time(12, 0)),
}


@dataclass(frozen=True, slots=True)
class When:
    """A wish about the appointment's time; every part optional.

    The date part is `start`..`end` (inclusive), `weekdays` (0 = Monday) and `asap`; the
    time part is `after`..`before` (a window) or `at` (one time). `flexible` means the
    patient said any time suits.
    """

    start: date | None = None
    end: date | None = None
    weekdays: tuple[int, ...] = ()
    asap: bool = False
    after: time | None = None
    before: time | None = None
    at: time | None = None
    flexible: bool = False

    @property
    def has_date(self) -> bool:
        """Whether a date part was given."""
        return bool(self.start or self.end or self.weekdays or self.asap)

    @property
    def has_time(self) -> bool:
        """Whether a time part was given."""
        return bool(self.after or self.before or self.at)

    def merged(self, newer: When) -> When:
        """This wish corrected by `newer`: each part newer gives replaces the same part here."""
        out = self
        if newer.has_date or (newer.flexible and not newer.has_time):
            out = replace(
                out, start=newer.start, end=newer.end, weekdays=newer.weekdays, asap=newer.asap
            )
        if newer.has_time or (newer.flexible and not newer.has_date):
            out = replace(out, after=newer.after, before=newer.before, at=newer.at)
        return replace(out, flexible=newer.flexible and not out.has_date and not out.has_time)

    def admits(self, day: date, at: time) -> bool:
        """Whether a slot on `day` at `at` fits the wish (a wished exact time is only a hint)."""
        if self.start and day < self.start:
            return False
        if self.end and day > self.end:
            return False
        if self.weekdays and day.weekday() not in self.weekdays:
            return False
        if self.after and at < self.after:
            return False
        return not (self.before and at >= self.before)

    def to_json(self) -> dict[str, Any]:
        """The wish as JSON (for the session state)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, date | time):
                out[key] = (
                    value.isoformat(timespec="minutes")
                    if isinstance(value, time)
                    else (value.isoformat())
                )
            elif isinstance(value, tuple):
                out[key] = list(value)
            else:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> When:
        """The wish from its JSON form."""
        if not value:
            return cls()

        def _d(key: str) -> date | None:
            return date.fromisoformat(value[key]) if value.get(key) else None

        def _t(key: str) -> time | None:
            return time.fromisoformat(value[key]) if value.get(key) else None

        return cls(
            start=_d("start"),
            end=_d("end"),
            weekdays=tuple(value.get("weekdays") or ()),
            asap=bool(value.get("asap")),
            after=_t("after"),
            before=_t("before"),
            at=_t("at"),
            flexible=bool(value.get("flexible")),
        )

    def describe(self) -> str:
        """The wish in words, e.g. "Tuesday 24 November, after 17:00"."""
        parts: list[str] = []
        if self.asap:
            parts.append("as soon as possible")
        if self.start and self.start == self.end:
            parts.append(f"{self.start:%A} {self.start.day} {self.start:%B}")
        elif self.start and self.end:
            parts.append(f"{self.start.day} {self.start:%b} – {self.end.day} {self.end:%b}")
        elif self.start:
            parts.append(f"from {self.start.day} {self.start:%B}")
        elif self.end:
            parts.append(f"by {self.end.day} {self.end:%B}")
        if self.weekdays and not (self.start and self.start == self.end):
            if tuple(self.weekdays) == (0, 1, 2, 3, 4):
                parts.append("weekdays")
            elif tuple(self.weekdays) == (5, 6):
                parts.append("weekends")
            else:
                parts.append(" or ".join(WEEKDAYS[d].title() + "s" for d in self.weekdays))
        if self.at:
            parts.append(f"at {self.at:%H:%M}")
        elif self.after and self.before:
            parts.append(f"between {self.after:%H:%M} and {self.before:%H:%M}")
        elif self.after:
            parts.append(f"after {self.after:%H:%M}")
        elif self.before:
            parts.append(f"before {self.before:%H:%M}")
        return ", ".join(parts) if parts else "any time"


@cache
def warm_up() -> None:
    """Load dateparser's language data now rather than in the first conversation (once)."""
    with _DATEPARSER_LOCK:
        dateparser.parse("next tuesday", languages=["en"], settings={"PREFER_DATES_FROM": "future"})


def _clock(hour: str, minute: str | None, suffix: str | None) -> time | None:
    h, m = int(hour), int(minute or 0)
    suffix = (suffix or "").replace(".", "")
    if m > 59 or h > 23:
        return None
    if suffix.startswith("p") and h < 12:
        h += 12
    elif suffix.startswith("a") and h == 12:
        h = 0
    elif not suffix.startswith(("a", "p")) and 1 <= h <= 7:
        # Surgeries open in the day: "at 3" and "after 5" mean the afternoon.
        h += 12
    return time(h, m)


def _parse_date(phrase: str, today: date, date_order: str) -> date | None:
    base = datetime.combine(today, time(0, 0))
    with _DATEPARSER_LOCK:
        parsed = dateparser.parse(
            phrase,
            languages=["en"],
            settings={
                "PREFER_DATES_FROM": "future",
                "RELATIVE_BASE": base,
                "DATE_ORDER": date_order,
                "STRICT_PARSING": False,
            },
        )
    if parsed is None:
        return None
    day = parsed.date()
    if day.year > today.year and not phrase.startswith(("in ", "next")):
        # dateparser moves today's own date ("24 Nov" on 24 November) to next year.
        try:
            if (earlier := day.replace(year=day.year - 1)) >= today:
                day = earlier
        except ValueError:
            pass
    if day < today and re.fullmatch(r"the " + _ORD, phrase):
        # "the 3rd" late in a month means next month's 3rd.
        month = today.month % 12 + 1
        year = today.year + (today.month == 12)
        try:
            day = date(year, month, day.day)
        except ValueError:
            return None
    if day < today or day > today + timedelta(days=366):
        return None
    return day


_BETWEEN_AND = re.compile(r"\b(between\s+\S+)\s+and\s+")
# "any day but Monday" and "but not Friday" rule a day out; "but" must not split them.
_BUT_NOT = re.compile(r"\b(any ?(day|time)|anything|whenever) but\b|\bbut not\b")


def _date_clauses(text: str) -> list[str]:
    text = _BETWEEN_AND.sub(r"\1 - ", text)
    text = _BUT_NOT.sub(lambda m: (m.group(1) or "") + " except", text)
    clauses = []
    for clause in _CLAUSES.split(text):
        if not clause or _PAST_CLAUSE.search(clause):
            continue
        clauses.append(_DURATION.sub(" ", clause))
    return clauses


def _date_part(text: str, today: date, date_order: str) -> When:
    found = When()
    if _ASAP.search(text):
        found = replace(found, asap=True)
    if _WEEKDAYS_ONLY.search(text):
        found = replace(found, weekdays=(0, 1, 2, 3, 4))
    elif _WEEKENDS.search(text):
        found = replace(found, weekdays=(5, 6))
    plural: set[int] = set()
    unwanted: set[int] = set()
    for m in _PLURAL_DAY.finditer(text):
        day_number = WEEKDAYS.index(m.group(1)[:-1])
        (unwanted if _ruled_out(text, m.start(), m.end()) else plural).add(day_number)
    if plural:
        found = replace(found, weekdays=tuple(sorted(plural)))
    elif unwanted:
        allowed = found.weekdays or tuple(range(7))
        found = replace(found, weekdays=tuple(d for d in allowed if d not in unwanted))
    monday_next = today + timedelta(days=7 - today.weekday())
    if _NEXT_WEEK.search(text):
        return replace(found, start=monday_next, end=monday_next + timedelta(days=6))
    if _THIS_WEEK.search(text):
        return replace(found, start=today, end=monday_next - timedelta(days=1))
    if _NEXT_MONTH.search(text):
        first = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
        last = date(first.year + (first.month == 12), first.month % 12 + 1, 1) - timedelta(days=1)
        return replace(found, start=first, end=last)
    if _SOON.search(text):
        return replace(found, start=today, end=today + timedelta(days=6))
    weekend = _THIS_WEEKEND.search(text)
    if weekend:
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if weekend.group(1) == "next" and saturday - today < timedelta(days=2):
            saturday += timedelta(days=7)
        return replace(found, start=saturday, end=saturday + timedelta(days=1), weekdays=())
    # "Tue 24 Nov", "Tuesday the 24th": the date says it all.
    text = _DAY_BEFORE_DATE.sub(" ", text)
    days: list[date] = []
    lower: date | None = None
    upper: date | None = None
    parsed: dict[str, date | None] = {}
    ruled_out: set[int] = set()
    # Most messages rule nothing out: then no phrase needs its surroundings read.
    may_rule_out = bool(_RULED_OUT_CUE.search(text))
    for match in _DATE_PHRASE.finditer(text):
        phrase = match.group(0).removeprefix("on ").strip()
        if phrase in ("tmrw", "tomorow"):
            phrase = "tomorrow"
        if phrase == "tonight":
            phrase = "today"
        if phrase not in parsed:
            if len(parsed) >= MAX_DATE_CANDIDATES:
                continue
            parsed[phrase] = _parse_date(phrase, today, date_order)
        day = parsed[phrase]
        if day is None:
            continue
        if (
            may_rule_out
            and _DAY_NAME.fullmatch(phrase)
            and _ruled_out(text, match.start(), match.end())
        ):
            ruled_out.add(day.weekday())  # "not Monday": every day but Mondays
            continue
        # Only the words just before the phrase (searching the whole prefix for every
        # phrase would be quadratic in the message's length).
        boundary = _BOUNDARY.search(text, max(0, match.start() - _BOUNDARY_REACH), match.start())
        word = boundary.group(1) if boundary else None
        if word in ("after",):
            lower = day + timedelta(days=1)
        elif word in ("from", "not before"):
            lower = day
        elif word == "before":
            upper = day - timedelta(days=1)
        elif word in ("by", "until", "till", "no later than"):
            upper = day
        else:
            days.append(day)
    if days:
        # Several named days ("Monday or Wednesday") keep the span and only those weekdays.
        start, end = min(days), max(days)
        weekdays = tuple(sorted({d.weekday() for d in days})) if len(days) > 1 else ()
        return replace(found, start=start, end=end, weekdays=weekdays or found.weekdays)
    if lower or upper:
        return replace(found, start=lower or today, end=upper)
    if ruled_out:
        allowed = found.weekdays or tuple(range(7))
        return replace(found, weekdays=tuple(d for d in allowed if d not in ruled_out))
    return found


_DAY_NAME = re.compile(r"(this |next |coming )?" + _DAY)
# A word without which neither _RULED_OUT_BEFORE nor _RULED_OUT_AFTER can match.
_RULED_OUT_CUE = re.compile(
    r"\b(not|no|never|can'?t|cannot|won'?t|except|other|rather|avoid|anything|any|apart|unable"
    r"|busy|bad|out|impossible|difficult|tricky|a|don'?t|doesn'?t)\b"
)


def _ruled_out(text: str, start: int, end: int) -> bool:
    """Whether the words around text[start:end] rule it out ("can't do mornings")."""
    before = text[max(0, start - 24) : start]
    return bool(_RULED_OUT_BEFORE.search(before) or _RULED_OUT_AFTER.search(text[end : end + 24]))


def _time_part(text: str) -> When:
    between = _BETWEEN.search(text)
    if between:
        a = _clock(*between.group(1, 2, 3))
        b = _clock(*between.group(4, 5, 6))
        if a and b and a < b:
            return When(after=a, before=b)
    after = _AFTER.search(text)
    before = _BEFORE.search(text)
    a = _clock(*after.groups()) if after else None
    b = _clock(*before.groups()) if before else None
    if a or b:
        return When(after=a, before=b)
    if _NOON.search(text):
        return When(at=time(12, 0))
    at = _AT.search(text)
    if at:
        groups = at.groups()
        hour, minute, suffix = next(
            (groups[i], groups[i + 1], groups[i + 2] if i + 2 < 8 else None)
            for i in (0, 3, 6)
            if groups[i] is not None
        )
        clock = _clock(hour, minute, suffix)
        if clock:
            return When(at=clock)
    instead: When | None = None
    for pattern, start, end in _PARTS:
        for match in pattern.finditer(text):
            if not _ruled_out(text, match.start(), match.end()):
                return When(after=start, before=end)
            key = next((k for k in _INSTEAD if k in match.group(0)), None)
            if key and instead is None:
                lower, upper = _INSTEAD[key]
                instead = When(after=lower, before=upper)
    return instead or When()


_NOT_TIMES = re.compile(
    r"(?<![\w.+-])[\w.+-]+@[\w-]+(\.[\w-]+)+"  # e-mail addresses (linear: see _EMAIL)
    r"|\bdc[-\s]?[0-9a-z]{6,10}\b"  # booking references
    r"|(?<![\d-])(?!\d{4}-\d\d-\d\d\b)\+?\d[\d\s().-]{6,}\d"  # phone numbers, not ISO dates
)


def extract_when(text: str, *, today: date, date_order: str = "DMY") -> When | None:
    """The time wish expressed in `text`, or None if it expresses none."""
    lowered = _NOT_TIMES.sub(" ", text.lower().replace("’", "'"))
    clauses = _date_clauses(lowered)
    kept = " , ".join(clauses)
    found = _date_part(kept, today, date_order)
    timing = _time_part(kept)
    found = replace(found, after=timing.after, before=timing.before, at=timing.at)
    if _FLEXIBLE.search(lowered) and not found.has_date and not found.has_time:
        return When(flexible=True)
    if not found.has_date and not found.has_time:
        return None
    return found
