"""Understanding: free text in, a structured `Parse` out — kept apart from the dialogue.

The dialogue only ever sees a `Parse`, produced by something implementing
`Understanding`. `RuleBasedUnderstanding` (regular expressions, `dateparser`, RapidFuzz)
is the one that ships and runs offline; a language-model backend (for example
OpenAI-compatible tool calling, returning the same fields) can replace it without touching
the dialogue or the booking rules.

Every step is linear in the text and only the first `MAX_ANALYSED_CHARS` characters are
read, so the hostile message costs what an ordinary long one does (tens of milliseconds
at worst, `tests/chatbot/test_hostile_input.py`). The service runs it in a worker thread
with a time budget (`chatbot.bounded`); it holds no mutable state, so threads may share it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

from dentalcare.chatbot.directory import DentistMatch, match_dentists
from dentalcare.chatbot.ports import DentistInfo
from dentalcare.chatbot.treatments import Patient, named_kind, who
from dentalcare.chatbot.triage import Triage, normalise, triage
from dentalcare.chatbot.when import When, extract_when

# A message is understood from its first this many characters (the API accepts 2,000):
# enough for a long description with the patient's details at the end.
MAX_ANALYSED_CHARS = 1000

Intent = Literal[
    "book",
    "cancel",
    "reschedule",
    "hours",
    "dentists",
    "price",
    "offered",
    "address",
    "children",
    "phone",
    "human",
    "help",
    "restart",
    "stop",
    "greeting",
    "thanks",
    "other_times",
    "waitlist",
]
Expecting = Literal[
    "complaint",
    "complaint_text",
    "screen",
    "preference",
    "slot",
    "details",
    "confirm",
    "reference",
    "email",
    "manage_confirm",
    "nothing",
]


@dataclass(frozen=True, slots=True)
class Context:
    """What the understanding may use besides the text."""

    today: date
    directory: Sequence[DentistInfo] = ()
    expecting: Expecting = "nothing"
    # Which details are still missing when expecting "details" (e.g. ("name", "phone")).
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Parse:
    """Everything found in one message. Absent pieces are None / empty / False."""

    text: str
    intents: frozenset[Intent] = frozenset()
    triage: Triage = field(default_factory=lambda: Triage("routine"))
    # The words describing a dental problem or a reason to come in, if any.
    complaint: str | None = None
    when: When | None = None
    dentist: DentistMatch | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    reference: str | None = None
    # True = yes, False = no, None = neither.
    answer: bool | None = None
    # A choice among offered options: 1-based, -1 for "the last one".
    choice: int | None = None
    # The answer to the red-flag question (when one was asked): yes, no or not sure.
    screen_answer: Literal["yes", "no", "unsure"] | None = None
    # The treatment the words name ("a filling"), and whom the visit is for.
    treatment: str | None = None
    patient: Patient = field(default_factory=Patient)
    gibberish: bool = False
    # The understanding ran out of its time budget: nothing was taken from the message.
    gave_up: bool = False

    @property
    def has_booking_info(self) -> bool:
        """Whether the message gives anything the booking flow collects."""
        return bool(
            self.complaint
            or self.when
            or self.dentist
            or self.name
            or self.email
            or self.phone
            or self.choice
        )


class Understanding(Protocol):
    """Turns a patient's message into a `Parse`."""

    async def parse(self, text: str, context: Context) -> Parse:
        """Understand `text` in `context`."""
        ...


# The look-behind starts a match only where a word starts: without it, a long run of word
# characters with no "@" is rescanned from every position (2,000 characters: ~0.2 s).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w@/:.])(\+?\(?\d[\d\s().\-]{5,}\d)(?![\w@/:])")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REFERENCE = re.compile(r"\bdc(-?)\s?([0-9a-z]{6,10})\b", re.IGNORECASE)

_INTENT_PATTERNS: tuple[tuple[Intent, str], ...] = (
    (
        "cancel",
        r"\bcancel\w*\b.{0,40}\b(appointment|booking|reservation|visit|it)\b"
        r"|\b(can'?t|cannot|won'?t be able to|not able to) (make|come|attend)\b"
        r"|\bcall off\b|\bcancel\w*\b(?=.*\bdc-?\s?[0-9a-z]{6,10}\b)",
    ),
    (
        "reschedule",
        r"\breschedul\w*|\bre-schedul\w*|\brebook\w*"
        r"|\b(change|move|shift|rearrange|postpone|push back|bring forward)\b"
        r".{0,25}\b(my|the|an?|existing)\s+(appointment|booking|visit)\b",
    ),
    (
        "hours",
        r"\bopening (hours|times)\b|\b(office|clinic|surgery|your|the) hours\b"
        r"|\b(what time|when) (are|do|does) (you|the \w+) (open|close)\b|\bare you open\b"
        r"|\bopen (on|at) (the )?(weekend|sat|sun)\w*|\bwhen (are|is) (you|the \w+) open\b"
        r"|\bwhat (are|is) your hours\b|\bhours of (business|opening)\b",
    ),
    (
        "dentists",
        r"\b(which|what|who are the|who are your|list( of)?( the| your)?|tell me about( the)?"
        r"|about your|show me( the)?)\s+(dentists|doctors|specialists|staff|team)\b"
        r"|\bwho (works|are the dentists|can i see)\b|\b(dentists|doctors) (do|have) you\b"
        r"|\bwho are (your|the) (dentists|doctors)\b",
    ),
    (
        "price",
        r"\b(how much|what does it cost|what do you charge|cost\w*|price\w*|pricing|fees?"
        r"|charges?|expensive|cheap\w*|afford\w*)\b",
    ),
    (
        "offered",
        r"\bwhat (do|can) you (do|offer)\b|\bwhat (treatments|services) do you\b"
        r"|\bdo you (do|offer|provide|have|carry out)\b.{0,30}\b(whiten\w*|cleans?|cleaning|scale"
        r"|polish|fillings?|root canals?|extractions?|braces|aligners|invisalign|check[- ]?ups?"
        r"|implants?|veneers?|crowns?|wisdom|emergenc\w*|orthodont\w*|nhs|private)\b",
    ),
    (
        "address",
        r"\bwhere (are|is) (you|the clinic|the surgery|the practice|your \w+)\b|\baddress\b"
        r"|\b(located|location|directions|parking|postcode|zip ?code)\b"
        r"|\bhow (do|can) i (get|find) (to )?(you|the clinic|there)\b",
    ),
    (
        "children",
        r"\b(do|can|will|would) you (take|see|treat|do|accept|look after)\b.{0,20}"
        r"\b(children|kids|child|babies|toddlers|teenagers|under[- ]?\d+s?)\b"
        r"|\b(can|do) (children|kids) (come|be seen)\b|\bchild[- ]friendly\b",
    ),
    (
        "phone",
        r"\b(your|the clinic'?s?|the surgery'?s?|the practice'?s?) (phone|telephone) number\b"
        r"|\bwhat'?s your number\b|\b(call|ring|phone) (you|the clinic|the surgery|the practice)\b"
        r"|\bcontact (number|details)\b",
    ),
    (
        "human",
        r"\b(speak|talk|chat) (to|with) (a |an |the )?(real |actual )?(person|human|someone"
        r"|somebody|receptionist|reception|staff|member of staff|manager)\b"
        r"|\b(real|actual) (person|human)\b|\bhuman being\b|\boperator\b",
    ),
    (
        "help",
        r"^\s*(help|\?+|menu|options)\s*[!.?]*\s*$|\bwhat can you (do|help)\b"
        r"|\bhow does this work\b|\bwhat do you do\b",
    ),
    (
        "restart",
        r"\b(start over|start again|restart|reset|begin again|from scratch|new booking"
        r"|another appointment|book another)\b",
    ),
    (
        "stop",
        r"^\s*(cancel|stop|quit|exit|never ?mind|forget it|abort)\s*[!.]*\s*$",
    ),
    (
        "other_times",
        r"\b(other|different|more|another|later|earlier)"
        r" (times?|slots?|options?|days?|dates?)\b"
        r"|\bnone of (these|them|those)\b|\b(those|these) (don'?t|do not) (work|suit)\b",
    ),
    (
        "waitlist",
        r"\b(waiting ?list|wait ?list|cancellation list|stand-?by list)\b"
        r"|\b(let me know|tell me|notify me|text me|e-?mail me|message me|alert me|ping me"
        r"|inform me|contact me|call me|get in touch)\b.{0,40}"
        r"\b(earlier|sooner|(comes?|came|opens?|frees?|freed) up|opens?|becomes? (free|available)"
        r"|cancel\w*|free)\b",
    ),
    ("greeting", r"^\s*(hi|hello|hey|hiya|howdy|good (morning|afternoon|evening)|greetings)\b"),
    ("thanks", r"\b(thanks|thank you|thx|cheers|ta)\b"),
    (
        "book",
        r"\b(book\w*|appointment|schedule|see (a|the) (dentist|doctor)|come in"
        r"|check[- ]?ups?|visit|slot|available|availability)\b",
    ),
)
_INTENTS = tuple((intent, re.compile(pattern)) for intent, pattern in _INTENT_PATTERNS)
# "The cancellation list" is the waitlist, not a wish to cancel.
_CANCELLATION_LIST = re.compile(r"\bcancell?ation (list|waiting list)\b")
# "Can you put me on the waiting list for …": the ask around what the visit is for.
_WAITLIST_ASK = re.compile(
    r"^\s*((please\s+)?(can|could|would) you\s+)?(please\s+)?(put|add|stick|get|pop) me"
    r"\s+(on|to|onto)\s+(the|your|a)\s+(waiting ?list|wait ?list|cancell?ation list"
    r"|stand-?by list)(\s+(for|with))*\s*",
    re.IGNORECASE,
)

_YES = re.compile(
    r"^\s*(y|yes|yeah|yea|yep|yup|ya|sure|ok|okay|k|kk|correct|confirm\w*|that'?s (right|correct|"
    r"fine|great|perfect|good)|sounds (good|great|perfect)|perfect|great|go ahead|please do"
    r"|book it|do it|absolutely|definitely|of course|right|fine|lovely|that works|yes please"
    r"|all good|looks good|brilliant|please)\b"
)
_NO = re.compile(
    r"^\s*(n|no|nope|nah|not really|wrong|incorrect|that'?s (wrong|not right)|don'?t|do not"
    r"|not (right|correct|that)|neither|none of (these|them|those)|other times?|change)\b"
)
_ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "last": -1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
}  # fmt: skip
_CHOICE = re.compile(
    r"^\s*(?:slot|option|number|no\.?|#)?\s*([1-9])\s*[.!)]?\s*$"
    r"|\b(?:slot|option|number|#)\s*([1-9])\b"
    r"|\b(?:the\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)"
    r"(?:\s+(?:one|option|slot|time|choice))?\b(?!\s+(?:available|thing|appointment))"
)
_PROBLEM = re.compile(
    r"\b(tooth|teeth|toothache|pain\w*|ache\w*|aching|hurt\w*|sore|gums?|bleed\w*|swell\w*"
    r"|swollen|broke\w*|chip\w*|crack\w*|fillings?|crowns?|cavit\w*|decay\w*|abscess\w*"
    r"|sensitiv\w*|wisdom|jaw|molars?|bite|brace[sd]?|dentures?|implants?|check[- ]?ups?"
    r"|clean\w*|scale|polish|whiten\w*|hygien\w*|aligners?|root canal|extraction|bad breath"
    r"|ulcers?|mouth|lump|loose|stain\w*|veneers?|infect\w*|routine|exam(s|ination)?|x-?rays?"
    r"|consultation|knocked|fell out|grind\w*|clench\w*|tmj|lip|tongue|cheek|face|head"
    r"|swallow\w*|breath\w*|fever|temperature|numb|numbness|throb\w*|twinge\w*|smile|whitening"
    r"|invisalign|crooked|straighten\w*|brackets?|retainers?|wires?|blood\w*|puffy|eyes?|neck"
    r"|vision|vomit\w*|passed out|extract\w*|pulled|removal|cavity|holes?|dry socket)\b"
)
_NAME_LEAD = re.compile(
    r"\b(?:my name is|my name'?s|name is|name:|full name is|the name is|call me|i am|i'?m|im"
    r"|this is|it'?s)\s+([a-z][a-z'\-]*(?:\s+[a-z][a-z'\-]*){0,3})",
    re.IGNORECASE,
)
_SURE_LEADS = ("my name", "name is", "name:", "full name", "the name", "call me")


# The answer to "is any of this happening?": not sure, no, yes (tried in that order).
_SCREEN_UNSURE = re.compile(
    r"^\W*(not sure|unsure|maybe|possibly|perhaps|i think so|think so|kind of|sort of|a bit"
    r"|a little|slightly|dunno|don'?t know|i don'?t know|no idea|hard to say|might be|could be"
    r"|not certain|i'?m not sure)\b"
)
_SCREEN_NO = re.compile(
    r"^\W*(n|no|nope|nah|none|nothing|neither|not really|not at all|negative|no to all|all fine"
    r"|all good|all ok|i'?m fine|he'?s fine|she'?s fine|they'?re fine|fine|nope none|never)\b"
)
_SCREEN_YES = re.compile(
    r"^\W*(y|yes|yeah|yea|yep|yup|ya|yes please|i do|he does|she does|they do|i have|he has"
    r"|she has|they have|i am|he is|she is|some of them|one of them|one of those|a couple"
    r"|all of them|all of those|definitely|afraid so|unfortunately( yes)?|correct|true)\b"
)


def screen_answer(text: str) -> Literal["yes", "no", "unsure"] | None:
    """The answer to the red-flag question in `text` (lower case), if it gives one."""
    if _SCREEN_UNSURE.search(text):
        return "unsure"
    if _SCREEN_NO.search(text):
        return "no"
    if _SCREEN_YES.search(text):
        return "yes"
    return None


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that follow "I'm" but are not names, and words that end a name.
_NOT_NAME = frozenset(
    _words(
        """a an the in on at not so very really just looking after having free available sure
    afraid calling wondering trying ok okay fine good here new booking interested hoping
    writing in pain still also getting feeling going sorry glad happy worried scared about
    with from for and or but my me is are was be been being this that it its it's to of
    no yes yeah nope please thanks thank hi hello hey dr doctor dentist email phone number
    tomorrow today monday tuesday wednesday thursday friday saturday sunday morning
    afternoon evening anyone anybody any available booked busy back done finished
    patient guest pregnant diabetic allergic okay actually need want would like could can
    having suffering experiencing dunno idk huh hmm hmmm erm umm um uh nah whatever why what
    how who where when which maybe perhaps later soon sorry what's nothing none nobody
    something anything everything test testing blah asdf"""
    )
)
_STOP_AFTER_NAME = frozenset(
    _words(
        """and my email phone number is at on please thanks but i i'm im email: phone: tel
    mobile with from by"""
    )
)
_VOWEL = re.compile(r"[aeiouy]")
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{5,}")


def find_email(text: str) -> str | None:
    """The first e-mail address in `text`."""
    match = _EMAIL.search(text)
    return match.group(0).rstrip(".").lower() if match else None


def find_phone(text: str) -> str | None:
    """The first phone number (7 to 15 digits) in `text`."""
    for match in _PHONE.finditer(_EMAIL.sub(" ", text)):
        candidate = match.group(1).strip()
        digits = re.sub(r"\D", "", candidate)
        if 7 <= len(digits) <= 15 and not _ISO_DATE.match(candidate):
            return re.sub(r"\s+", " ", candidate)
    return None


def find_reference(text: str) -> str | None:
    """A booking reference such as DC-7K3P9Q, normalised to upper case."""
    for match in _REFERENCE.finditer(text):
        code = match.group(2).upper()
        if match.group(1) or any(ch.isdigit() for ch in code):
            return f"DC-{code}"
    return None


def _clean_name(words: list[str]) -> str | None:
    kept: list[str] = []
    for word in words:
        if word.lower() in _STOP_AFTER_NAME:
            break
        kept.append(word)
    if not kept or kept[0].lower() in _NOT_NAME or any(w.lower() in _NOT_NAME for w in kept):
        return None
    return " ".join(w[:1].upper() + w[1:] for w in kept)


def find_name(text: str, *, expecting_name: bool) -> str | None:
    """The patient's own name: "I'm Jane Doe", "my name is …", or a bare name when asked."""
    for match in _NAME_LEAD.finditer(text):
        lead = match.group(0)[: match.start(1) - match.start(0)].lower()
        words = match.group(1).split()
        sure = any(lead.startswith(s) for s in _SURE_LEADS)
        if not sure and not expecting_name and not words[0][:1].isupper():
            continue
        name = _clean_name(words)
        if name:
            return name
    if not expecting_name:
        return None
    for segment in re.split(r"[,;\n]|\band\b", text):
        stripped = _EMAIL.sub(" ", segment)
        phone = find_phone(stripped)
        if phone:
            stripped = stripped.replace(phone, " ")
        words = stripped.split()
        if 1 <= len(words) <= 4 and all(re.fullmatch(r"[A-Za-z][A-Za-z'\-]*\.?", w) for w in words):
            name = _clean_name([w.rstrip(".") for w in words])
            if name:
                return name
    return None


_CLAUSE = re.compile(r"[,.;!?()\n]+|\s+-\s+|\s+but\s+")
_LEAD_IN = re.compile(
    r"^\s*((hi|hello|hey|hiya|good (morning|afternoon|evening)|so|well|um+|erm|ok|okay|yes"
    r"|yeah|please|sorry|right|oh|also|and)\b[\s,]*)+",
    re.IGNORECASE,
)
# "I'd like to book a", "can I get a": what comes before the complaint itself.
_BOOKING_LEAD = re.compile(
    r"^\s*(i think\s+)?(i'?d like|i would like|i want|i wanna|i need|i'?m after|i'?m looking"
    r"|looking|can i|could i|may i|please can i|can you|could you|i'?m due|i am due|due)"
    r"(\s+(to|for|a|an|my|me|in|get|have|book|make|schedule|arrange|some|someone to|my"
    r"|appointment|an appointment))*\s+",
    re.IGNORECASE,
)
_TRAILING = re.compile(
    r"(\s+(please|thanks|thank you|if possible|asap|if you can|then|thx|pls|plz))+\s*$", re.I
)
# Questions about the clinic ("how much is a filling?") say what is asked, not what is wrong.
_QUESTION_CLAUSE = re.compile(
    r"\b(how much|cost\w*|price\w*|fees?|charge\w*|opening|open on|open at|are you open"
    r"|what time|address|where are you|located|do you (take|see|treat|do|accept|offer)"
    r"|phone number|your number)\b",
    re.IGNORECASE,
)


# When and with whom are wishes about the appointment, not part of the complaint.
_WHEN_WORDS = re.compile(
    r"\b(some ?time|any ?time|any day|ideally|preferably|hopefully)?\s*(on |for |this |next "
    r"|coming |the following )*((?<=this )week|(?<=next )week|(?<=this )weekend|(?<=next )weekend"
    r"|(?<=next )month|(mon|tues|wednes|thurs|fri|satur|sun)days?|today|tomorrow|tonight|tmrw)"
    r"\b(\s+(morning|afternoon|evening|night)s?)?"
    r"|\b(in the |this |tomorrow )?(morning|afternoon|evening)s?\b"
    r"|\b(at|around|after|before|from|by)\s+\d{1,2}([:.]\d{2})?\s*(am|pm|o'?clock)?(?!\w)"
    r"|\b\d{1,2}([:.]\d{2})?\s*(am|pm)\b|\b(asap|as soon as (possible|you can))\b"
    r"|\b(with|see|seeing)\s+(dr|doctor)\.?\s+[a-z'\-]+\b",
    re.IGNORECASE,
)
_DANGLING = re.compile(
    r"(\s+(for|on|with|at|in|please|and|or|if possible|if you have it))+\s*$", re.I
)


_PAST = re.compile(r"(last|since|past|ago|from|yesterday)\s*$", re.IGNORECASE)


def _without_when(clause: str) -> str:
    """The clause without its wishes about the appointment's time ("since Monday" stays)."""

    def drop(match: re.Match[str]) -> str:
        before = clause[max(0, match.start() - 12) : match.start()]
        return match.group(0) if _PAST.search(before) and not match.group(2) else " "

    return " ".join(_WHEN_WORDS.sub(drop, clause).split())


def _trimmed(clause: str) -> str:
    clause = _WAITLIST_ASK.sub("", clause)
    without = _without_when(clause)
    if _PROBLEM.search(without.lower()):
        clause = _DANGLING.sub("", without)
    clause = _LEAD_IN.sub("", clause)
    shorter = _BOOKING_LEAD.sub("", clause, count=1)
    if shorter != clause and _PROBLEM.search(shorter.lower()):
        clause = shorter
    return _TRAILING.sub("", clause).strip()


def complaint_phrase(text: str) -> str | None:
    """The clauses of `text` that describe a dental problem or a reason to come in (not a
    question about the clinic), without the "I'd like to book" around them."""
    cleaned = _EMAIL.sub(" ", text)
    phone = find_phone(cleaned)
    if phone:
        cleaned = cleaned.replace(phone, " ")
    clauses = [c.strip() for c in _CLAUSE.split(cleaned)]
    kept = [
        _trimmed(c)
        for c in clauses
        if c and _PROBLEM.search(c.lower()) and not _QUESTION_CLAUSE.search(c)
    ]
    phrase = ", ".join(k for k in kept if k)
    return phrase[:500] or None


def _answer(text: str) -> bool | None:
    if _YES.search(text):
        return True
    if _NO.search(text):
        return False
    return None


def _choice(text: str) -> int | None:
    match = _CHOICE.search(text)
    if not match:
        return None
    digit = match.group(1) or match.group(2)
    if digit:
        return int(digit)
    return _ORDINALS[match.group(3)]


def looks_like_gibberish(text: str) -> bool:
    """Keyboard mashing and the like: few of the words look like words."""
    words = re.findall(r"[a-z]+", text.lower())
    if not words:
        return not re.search(r"\d", text)
    odd = [w for w in words if len(w) > 2 and (not _VOWEL.search(w) or _CONSONANT_RUN.search(w))]
    return len(odd) * 2 >= len(words) or (len(words) == 1 and len(words[0]) > 14)


class RuleBasedUnderstanding:
    """Offline understanding with rules: regular expressions, dateparser and RapidFuzz."""

    def __init__(self, *, date_order: str = "DMY") -> None:
        self.date_order = date_order

    async def parse(self, text: str, context: Context) -> Parse:
        """Understand `text` in `context`."""
        return self.parse_now(text, context)

    def parse_now(self, text: str, context: Context) -> Parse:
        """The same as `parse`, synchronously."""
        raw = text.strip()[:MAX_ANALYSED_CHARS]
        lowered = normalise(raw)
        asked = _CANCELLATION_LIST.sub("waiting list", lowered)
        intents = frozenset(intent for intent, pattern in _INTENTS if pattern.search(asked))
        expecting_name = context.expecting == "details" and "name" in context.missing
        name = find_name(raw.replace("’", "'"), expecting_name=expecting_name)
        without_name = lowered.replace(name.lower(), " ") if name else lowered
        dentist = match_dentists(
            without_name, context.directory, titled_only=context.expecting == "details"
        )
        reference = find_reference(raw)
        when = extract_when(lowered, today=context.today, date_order=self.date_order)
        choice = _choice(lowered) if context.expecting in ("slot", "preference") else None
        if choice is not None and when is not None and when.at is None and not when.has_date:
            when = None  # "the first one" is not a wish about the morning
        email = find_email(raw)
        phone = find_phone(raw) if reference is None or context.expecting == "details" else None
        found = Parse(
            text=raw,
            intents=intents,
            triage=triage(lowered),
            complaint=complaint_phrase(raw),
            when=when,
            dentist=dentist,
            name=name,
            email=email,
            phone=phone,
            reference=reference,
            answer=_answer(lowered),
            choice=choice,
            screen_answer=screen_answer(lowered) if context.expecting == "screen" else None,
            treatment=named_kind(normalise(_EMAIL.sub(" ", raw))),
            patient=who(lowered),
        )
        nothing = not (
            found.has_booking_info
            or intents
            or reference
            or found.answer is not None
            or found.screen_answer is not None
            or found.triage.mentions
        )
        if nothing and looks_like_gibberish(lowered):
            return Parse(text=raw, gibberish=True)
        return found
