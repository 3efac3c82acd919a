"""Symptom triage from published dental emergency guidance (NHS 111, SDCEP), as one rule table.

Pure: one message in, what it says clinically out (`Triage`):

- **mentions** — pain, trauma (a fall, a blow, sport, a fight, an accident), swelling,
  bleeding. Each mention opens red-flag questions (`chatbot.screen`).
- **red flags** affirmed or denied: swelling spreading to the eye or neck; trouble
  breathing, swallowing or speaking; bleeding that will not stop; after a blow, being
  knocked out, vomiting, double or blurred vision; a jaw that will not close or teeth
  that no longer meet; fever. An affirmed red flag is an **emergency**: the patient is
  told to call 999 / 911 / 112 or go to A&E, and nothing is booked. (Being knocked out,
  vomiting and blurred vision count after a blow — blurred vision with swelling too;
  `chatbot.screen` also remembers a blow told in an earlier message.)
- **urgent** — a knocked-out or broken tooth; severe pain, above all when painkillers do
  not ease it; swelling; bleeding or severe pain after an extraction; signs of an abscess;
  a sharp edge cutting the tongue or cheek. The earliest slots within 24 hours are offered.
- **routine** — everything else.

A phrase only counts when it is not negated just before ("no swelling at all", "I don't
have a fever", "didn't pass out"); a negated red flag is a *denied* one, which answers
its question. When in doubt the rules err towards the more urgent answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from dentalcare.vocabulary import Urgency

Mention = Literal["pain", "trauma", "swelling", "bleeding"]
RedFlag = Literal[
    "spreading_swelling",
    "airway",
    "bleeding",
    "unconscious",
    "vomiting",
    "vision",
    "jaw",
    "fever",
]
RED_FLAGS: tuple[RedFlag, ...] = (
    "spreading_swelling",
    "airway",
    "bleeding",
    "unconscious",
    "vomiting",
    "vision",
    "jaw",
    "fever",
)
# Why an affirmed red flag is an emergency, in the words of the reply.
FLAG_REASONS: dict[RedFlag, str] = {
    "spreading_swelling": "swelling spreading to the eye or neck",
    "airway": "difficulty breathing, swallowing or speaking",
    "bleeding": "bleeding that will not stop",
    "unconscious": "being knocked out, passing out, drowsy or confused after a blow",
    "vomiting": "vomiting after a blow to the head or face",
    "vision": "double or blurred vision",
    "jaw": "a jaw that will not close or teeth that no longer meet",
    "fever": "a fever with a dental problem",
}

_ORDER: dict[Urgency, int] = {"routine": 0, "urgent": 1, "emergency": 2}

# Building blocks (regular expressions over lower-cased text with straight apostrophes).
TOOTH = r"\b(tooth|teeth|molars?|incisors?|premolars?|canines?|front one|fang)\b"
PAIN = (
    r"\b(pain(?!\s*-?\s*free|less)\w*|painful|ache[sd]?|aching|achy|toothache|tooth ache"
    r"|hurt\w*|sore\w*|throb\w*|agony|agonising|agonizing|tender|twing\w*|killin[g']? me|stabbing"
    r"|sharp pains?)\b"
)
TRAUMA = (
    r"\b(fell(?!\s+out\b)|fall(?!\s+out\b)(en|ing)?|tripped|trip(ped)? over|slipped|hit\b"
    r"|smack\w*|whack\w*|punch\w*|kick\w*|elbow(ed)?|head-?butt\w*|banged|bumped|knocked"
    r"|accident|crash\w*|collision|collided|fight|fighting|assault\w*|attacked|beaten up"
    r"|injur\w*|trauma\w*|blow to|walked into|ran into|face-?plant\w*|landed on"
    r"|climbing frame|monkey bars|playground"
    r"|(came|come|thrown|flew|fallen) off (my|his|her|their|the|a) (bike|bicycle|horse|scooter"
    r"|skateboard|motorbike|trampoline|swing))\b"
)
SWELLING = r"\b(swell\w*|swollen|puff(y|ed up|iness)|bulg\w*|lump|balloon\w*|blown up)\b"
BLEEDING = r"\b(bleed\w*|blood\w*)\b"
# "My crown fell off" is no fall.
NOT_A_FALL = (
    r"\b(fillings?|crowns?|caps?|veneers?|brackets?|braces?|retainers?|dentures?|bridges?|wires?"
    r"|temporary|temp)\b(\s+\w+){0,2}?\s+(fell|fallen|came|come|comes|falls) (off|out)\b"
)
EYE_OR_NECK = r"\b(eyes?|eyelids?|neck|throat|under (my|his|her) chin|temple)\b"
# An eye swelling shut says the swelling has spread, whatever words come before.
EYE_SHUT = (
    r"\beyes?\b(\s+\w+){0,3}?\s+(swollen|swelling|closing|closed|shut|puff\w*)"
    r"|\bcan'?t (open|see out of) (my|his|her) eye"
)
SPREADING = r"\b(spread\w*|getting bigger|growing)\b"
# Any way of saying that breathing, swallowing or speaking is hard.
_HARD = (
    r"\b(hard|harder|difficult|difficulty|trouble|troubles|struggl\w*|barely|hardly|scarcely"
    r"|unable to|problems?|can'?t|cannot|can not|couldn'?t|can'?t even|painful to|hurts? to"
    r"|hurting to|agony to|impossible to|not able to)"
)
_AIRWAY_HARD = (
    _HARD + r"(\s+\w+){0,5}?\s+(breath\w*|swallow\w*)"
    "|" + _HARD + r"(\s+\w+){0,2}?\s+(speak|talk)\w*\s+(properly|clearly|normally|at all|much)"
    "|"
    + _HARD.replace("|can'?t|cannot|can not|couldn'?t|can'?t even", "")
    + r"(\s+\w+){0,2}?\s+(speak\w*|talk\w*)"
)
_AIRWAY_CANT = (
    r"\b(can'?t|cannot|couldn'?t|unable to)\s+(even\s+)?(get|keep)\s+(any\s+)?(water|food|drinks?"
    r"|anything|fluids?|liquids?)\s+down\b"
    r"|\bshort of breath\b|\bout of breath\b|\bcan'?t catch my breath\b|\bbreathless\w*"
    r"|\bwheez\w*|\bgasping\b|\bchoking\b|\bdrooling\b|\bdribbling\b"
    r"|\bthroat\b(\s+[\w']+){0,3}?\s+(closing|closing up|tight|tightening|swelling|swollen)"
    r"|\btongue\b(\s+\w+){0,3}?\s+(swollen|swelling|swelled|puffed up)"
    r"|\b(swollen|swelling) (of )?(my |his |her )?tongue\b"
    r"|\bvoice\b(\s+\w+){0,3}?\s+(muffled|weird|strange|hoarse|funny)"
)
AIRWAY = _AIRWAY_HARD + "|" + _AIRWAY_CANT
AIRWAY_FINE = (
    r"\b(can|i can|he can|she can|they can)\s+(still\s+)?(breathe|swallow|talk|speak)"
    r"(\s+(and|or)\s+(breathe|swallow|talk|speak))*\s*(fine|ok|okay|normally|alright|all right)"
    r"|\b(breathing|swallowing)(\s+(and|or)\s+(breathing|swallowing|talking|speaking))*"
    r"\s+(is|are|seems?)?\s*(fine|ok|okay|normal|alright|all right)\b"
)
WONT_STOP = (
    r"\b(won'?t|will not|doesn'?t|does not|hasn'?t|has not|haven'?t|can'?t|cannot|isn'?t|not)"
    r"\s+(\w+\s+)?stop\w*|\bnon[- ]?stop\b|\bkeeps? (on )?bleeding\b|\bwon'?t clot\b"
    r"|\b(pouring|gushing)\b|\bbleeding (heavily|a lot|badly|everywhere)\b|\bheavy bleeding\b"
    r"|\bstill bleeding\b[^.!?]{0,60}\b(hour|hours|half an hour|30 min\w*|all (day|night))\b"
)
BRUSHING = r"\b(when|after|while|if) (i |he |she |they |we )?(brush|floss|clean|eat)\w*"
BLEEDING_STOPPED = (
    r"\b(not|no longer|isn'?t|stopped|has stopped|had stopped)\s+bleeding\b"
    r"|\bbleeding\s+(has\s+|had\s+|'s\s+)?(stopped|settled|eased off)\b"
    r"|\b(it'?s|it has|it had|that'?s|and has|but has)\s+stopped\b|\bstopped now\b"
)
UNCONSCIOUS = (
    r"\b(pass(ed|ing|es)? out|lost consciousness|loss of consciousness|unconscious|black(ed|s)?"
    r" out|blacking out|knocked (myself|himself|herself|themselves|him|her|me|them) out"
    r"|came (round|around|to)|come round|unresponsive|not responding|drowsy|dazed|confused"
    r"|disoriented|disorientated|concuss\w*|out of it|seeing stars"
    r"|knocked unconscious|out cold|fainted|conked out)\b"
)
# "was knocked out" is about a person unless a tooth is its subject or object.
_PERSON_KNOCKED_OUT = re.compile(r"\b(was|were|got|been|get|gets|getting|is)\s+knocked\s+out\b")
VOMITING = (
    r"\b(vomit\w*|threw up|throw(ing|n)? up|puk\w*|(been|being|was|were|is|felt|feel|feeling)"
    r" sick(?! of| and tired)|sick (twice|again|a few times|several times))\b"
)
VISION = (
    r"\b(double vision|seeing double|see(ing)? (two of|double)|blurr(ed|y|ing) (vision|sight|eyes?)"
    r"|(eyes?|vision|sight|eyesight)\b(\s+\w+){0,3}?\s+(blurr\w*|fuzzy|double|hazy|foggy)"
    r"|vision (is |has been |was |went |gone |getting )?(blurr\w*|fuzzy|funny|weird|strange|off)"
    r"|can'?t see (properly|straight|clearly))\b"
)
VISION_FINE = r"\b(vision|eyesight|sight) (is |seems )?(fine|ok|okay|normal)\b|\bcan see fine\b"
JAW = (
    r"\bjaw\b(\s+\w+){0,2}?\s+(won'?t|will not|doesn'?t|does not|can'?t|cannot|isn'?t)"
    r"(\s+\w+)?\s+(close|shut|open|closing|opening|line up)"
    r"|\b(can'?t|cannot|unable to)\s+(close|shut|open)\s+(my|his|her|their)\s+(mouth|jaw)"
    r"|\bteeth\b(\s+\w+){0,2}?\s+(don'?t|do not|no longer|won'?t|doesn'?t|aren'?t|not)"
    r"(\s+\w+)?\s+(meet|fit|line up|bite|come together|touch)"
    r"|\bbite (is|feels|went|has gone|seems)( \w+)? (off|wrong|different|weird)\b"
    r"|\bjaw (is |feels |seems )?(locked|stuck|out of place|wonky|crooked)\b"
    r"|\b(mouth|jaw)\b(\s+\w+){0,2}?\s+(won'?t|will not|doesn'?t|can'?t)\s+(open|close|shut|move)"
    r"|\b(broke|broken|fractured|dislocated)\s+(my\s+|his\s+|her\s+|the\s+)?jaw\b"
    r"|\bjaw\b(\s+\w+){0,3}?\s+(broken|fractured|dislocated)\b|\block ?jaw\b"
)
JAW_FINE = r"\b(jaw|bite) (is |feels |seems )?(fine|ok|okay|normal)\b|\bteeth (still )?meet\b"
FEVER = (
    r"\b(fever\w*|(?<!sensitive to )temperature(?! sensitiv)|high temp|temp of|feverish|chills"
    r"|shiver\w*|(feel\w*|felt|going|gone|got) hot and cold|burning up"
    r"|3[89](\.\d)? ?(c|degrees)|10[0-4](\.\d)? ?(f|degrees))"
)
INJURY = (
    r"\b(injur\w*|accident|hit|smash\w*|punched|kicked|fell|fall(en)?|crash\w*|trauma|blow"
    r"|assault\w*|attacked)\b"
)
SERIOUS = r"\b(serious\w*|severe\w*|badly cut|major|deep cut|lots of blood|mangled|smashed up)\b"
FACE_OR_JAW = r"\b(face|facial|jaw\w*|cheekbones?)\b"
# A whole tooth out: the tooth and the verb close together, either way round.
KNOCKED_OUT = (
    r"\b(tooth|teeth|incisors?|front one)\b(\s+\S+){0,4}?\s+(knocked|fell|fallen|came|come"
    r"|comes|popped|flew|flown)(\s+\S+){0,2}?\s+out\b"
    r"|\bknocked\s+(\S+\s+){0,4}?(tooth|teeth)(\s+(clean|right|straight|completely|fully))?"
    r"\s+out\b|\bknocked\s+out\s+(\S+\s+){0,4}?(tooth|teeth)\b"
    r"|\bknocked-out\s+(\S+\s+)?(tooth|teeth)\b|\bavuls\w*"
    r"|\blost\s+(a|my|the|his|her|their|one|two)\s+(front\s+|adult\s+)?(tooth|teeth)\b"
)
NOT_A_TOOTH_OUT = (
    r"\b(fillings?|crowns?|caps?|veneers?|braces?|brackets?|retainers?|dentures?|implants?"
    r"|wires?|bridges?)\b(\s+\w+){0,3}?\s+(fell|came|come|comes|popped|fallen|been)"
)
# A wobbly baby tooth coming out on its own is normal, not an injury.
WOBBLY = r"\b(wobbly|wiggly|loose)\b(\s+\w+){0,2}?\s+(baby |milk )?(tooth|teeth)\b"
BABY_TOOTH = r"\b(baby|milk|first|primary)\s+(tooth|teeth)\b"
ADULT_TOOTH = r"\b(adult|permanent|grown-?up|big|second)\s+(tooth|teeth)\b"
BROKEN = r"\b(broke|broken|break|chipped|chip|cracked|crack|snapped|fractured|split|shattered)\b"
SHARP = (
    r"\bsharp\b(\s+\w+){0,2}?\s*(edge|bit|point|piece|corner)?(\s+\w+){0,4}?\s+"
    r"(cut\w*|catch\w*|scratch\w*|rubb\w*|digging|shredding|slic\w*)"
    r"|\b(cutting|shredding|slicing)\s+(up\s+)?(my|his|her|the)\s+(tongue|cheek|lip|gum)"
    r"|\bwire\b(\s+\w+){0,3}?\s+(poking|stabbing|digging)"
)
PAINKILLERS_FAIL = (
    r"\b(painkillers?|pain killers?|pain relief|pain medication|ibuprofen|paracetamol"
    r"|acetaminophen|tylenol|advil|nurofen|co-codamol|aspirin|medication|meds|pills|tablets)\b"
    r"[^.!?]{0,30}?(\bnot\b|n't\b|\bno longer\b|\bbarely\b|\bhardly\b|\buseless\b|\bnothing\b)"
    r"|\bnothing (helps|works|is helping|is working|touches it)\b"
    r"|\beven (with|after|on)( taking)? (painkillers?|ibuprofen|paracetamol|medication|pills)\b"
)
SEVERE_PAIN = (
    r"\b(severe|unbearable|excruciating|agoni[sz]ing|terrible|horrible|awful|extreme|intense"
    r"|worst|really bad|very bad|so bad|so much|a lot of|crazy|insane|unreal|horrendous)\b"
    r"(\s+\w+){0,2}?\s+(pain|toothache|ache|aching|hurts?|hurting)\b"
    r"|\b(pain|toothache|ache)\b([,\s]+[\w']+){0,3}?[,\s]+(unbearable|excruciating|severe"
    r"|killing me|awful|terrible|horrendous|really bad|very bad|so bad|agony)\b"
    r"|\bkillin[g']? me\b|\bin agony\b|\bagony\b"
    r"|\b(10|ten|9|nine) out of (10|ten)\b|\b(10|9)/10\b|\bcan'?t sleep\b|\bcouldn'?t sleep\b"
    r"|\bhaven'?t slept\b|\bno sleep\b|\b(kept|keeping|keeps) me (up|awake)\b|\ball night\b"
    r"|\bcrying (with|in|from) (the )?pain\b"
)
EXTRACTION = (
    r"\b(extraction|extracted|pulled|removed|taken out|had (a|my|the)( \w+)? (tooth|teeth) out"
    r"|tooth out|teeth out)\b"
)
INFECTION = r"\b(abscess\w*|pus|infect\w*|gum boil|oozing)\b"
LOOSENED = (
    r"\b(loose|wobbly|wobbling|pushed (back|in|up)|moved|displaced|cut (my |his |her )?lip"
    r"|lip is cut|split lip|cut and bleeding)\b"
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One line of the table: every pattern of `all_of` matches, none of `unless` does."""

    urgency: Urgency
    reason: str
    all_of: tuple[str, ...]
    unless: tuple[str, ...] = field(default=())


# "It needs to come out" is a wish for an extraction, not a tooth knocked out.
TO_COME_OUT = (
    r"\b(needs?|have|has|had|should|must|going|want\w*|will|would|could|might|ought)\s+"
    r"(\w+\s+){0,2}?(to\s+)?(be\s+)?(come|taken|pulled|knocked|coming)\s+out\b"
)
KNOCKED_OUT_RULE = Rule(
    "urgent", "knocked-out tooth", (KNOCKED_OUT,), unless=(NOT_A_TOOTH_OUT, WOBBLY, TO_COME_OUT)
)
# Emergencies beyond the red flags (which `triage` checks on their own, with denials).
RULES: tuple[Rule, ...] = (
    Rule("emergency", "serious face or jaw injury", (INJURY, SERIOUS, FACE_OR_JAW)),
    # urgent: the earliest slots within 24 hours
    KNOCKED_OUT_RULE,
    Rule("urgent", "broken tooth", (BROKEN, TOOTH)),
    Rule("urgent", "a sharp edge cutting the mouth", (SHARP,)),
    Rule("urgent", "severe pain not eased by painkillers", (PAINKILLERS_FAIL,)),
    Rule("urgent", "severe pain", (SEVERE_PAIN,)),
    Rule("urgent", "swelling", (SWELLING,)),
    Rule("urgent", "bleeding or severe pain after an extraction", (EXTRACTION, BLEEDING)),
    Rule("urgent", "bleeding or severe pain after an extraction", (EXTRACTION, PAIN)),
    Rule("urgent", "bleeding or severe pain after an extraction", (r"\bdry socket\b",)),
    Rule("urgent", "possible infection or abscess", (INFECTION,)),
    Rule("urgent", "an injury to the mouth or teeth", (TRAUMA, LOOSENED)),
    Rule(
        "urgent",
        "an injury to the mouth or teeth",
        (TRAUMA, TOOTH, BLEEDING),
        unless=(BLEEDING_STOPPED,),
    ),
)

_COMPILED: dict[str, re.Pattern[str]] = {}

# A negation cue among the three words before a phrase cancels it ("no swelling",
# "I don't have a fever"); "won't stop" and the like are not negations of bleeding.
_NEGATION = re.compile(
    r"\b(no|not|without|never|none|nothing|isn'?t|aren'?t|wasn'?t|weren'?t|don'?t|doesn'?t"
    r"|didn'?t|haven'?t|hasn'?t|hadn'?t|nor|neither|zero)\b"
)
_NOT_STOPPING = re.compile(
    r"\b(won'?t|will not|doesn'?t|does not|hasn'?t|has not|haven'?t|can'?t|cannot|isn'?t|not)"
    r"\s+(\w+\s+)?stop\w*"
)
_CLAUSE_BREAK = re.compile(r"[.!?;,]|\bbut\b|\bhowever\b|\bthough\b|\balthough\b|\bapart from\b")


@dataclass(frozen=True, slots=True)
class Triage:
    """What one message says: urgency and why, mentions, red flags affirmed and denied."""

    urgency: Urgency
    reasons: tuple[str, ...] = ()
    mentions: frozenset[Mention] = frozenset()
    flags: frozenset[RedFlag] = frozenset()
    denied: frozenset[RedFlag] = frozenset()
    # A whole tooth out (not a filling or crown), and whether it is a baby or adult tooth.
    knocked_out: bool = False
    baby_tooth: bool | None = None


def _pattern(source: str) -> re.Pattern[str]:
    compiled = _COMPILED.get(source)
    if compiled is None:
        # The text is lower case already (`normalise`); IGNORECASE would only slow the scan.
        compiled = _COMPILED[source] = re.compile(source)
    return compiled


def _negated(text: str, start: int) -> bool:
    before = _CLAUSE_BREAK.split(text[max(0, start - 60) : start])[-1]
    before = _NOT_STOPPING.sub(" ", before)
    words = before.split()[-3:]
    return bool(_NEGATION.search(" ".join(words)))


def _found(pattern: str, text: str) -> tuple[bool, bool]:
    """(affirmed somewhere, mentioned only negated)."""
    mentioned = False
    for match in _pattern(pattern).finditer(text):
        if not _negated(text, match.start()):
            return True, False
        mentioned = True
    return False, mentioned


def _affirmed(pattern: str, text: str) -> bool:
    return _found(pattern, text)[0]


def _applies(rule: Rule, text: str) -> bool:
    if not all(_affirmed(p, text) for p in rule.all_of):
        return False
    return not any(_pattern(p).search(text) for p in rule.unless)


def _person_knocked_out(text: str) -> tuple[bool, bool]:
    """ "I was knocked out" (a person), not "my tooth got knocked out": affirmed, denied."""
    affirmed = denied = False
    for match in _PERSON_KNOCKED_OUT.finditer(text):
        before = " ".join(text[: match.start()].split()[-4:])
        after = " ".join(text[match.end() :].split()[:4])
        if _pattern(TOOTH).search(before) or _pattern(r"^(\w+\s+)?(\w+\s+)?" + TOOTH).search(after):
            continue
        if _negated(text, match.start()) or re.search(
            r"\b(wasn'?t|weren'?t|not)\b", match.group(0)
        ):
            denied = True
        else:
            affirmed = True
    return affirmed, denied and not affirmed


def _red_flags(text: str, mentions: set[Mention]) -> tuple[set[RedFlag], set[RedFlag]]:
    """Red flags affirmed and denied in one message."""
    yes: set[RedFlag] = set()
    no: set[RedFlag] = set()
    swelling, no_swelling = _found(SWELLING, text)
    near_eye, _ = _found(EYE_OR_NECK, text)
    spreading, not_spreading = _found(SPREADING, text)
    if (swelling and (near_eye or spreading)) or _affirmed(EYE_SHUT, text):
        yes.add("spreading_swelling")
    elif no_swelling or (swelling and not_spreading):
        no.add("spreading_swelling")
    airway, no_airway = _found(AIRWAY, text)
    if airway:
        yes.add("airway")
    elif no_airway or _pattern(AIRWAY_FINE).search(text):
        no.add("airway")
    if "bleeding" in mentions or _pattern(BLEEDING).search(text):
        brushing = _pattern(BRUSHING).search(text)  # gums that bleed on brushing: no red flag
        if _affirmed(BLEEDING, text) and _affirmed(WONT_STOP, text) and not brushing:
            yes.add("bleeding")
        elif _pattern(BLEEDING_STOPPED).search(text) or not _affirmed(BLEEDING, text):
            no.add("bleeding")
    unconscious, no_unconscious = _found(UNCONSCIOUS, text)
    person_out, no_person_out = _person_knocked_out(text)
    if unconscious or person_out:
        yes.add("unconscious")
    elif no_unconscious or no_person_out:
        no.add("unconscious")
    for flag, pattern, fine in (
        ("vomiting", VOMITING, None),
        ("vision", VISION, VISION_FINE),
        ("jaw", JAW, JAW_FINE),
        ("fever", FEVER, None),
    ):
        affirmed, denied = _found(pattern, text)
        if affirmed:
            yes.add(flag)  # type: ignore[arg-type]
        elif denied or (fine and _pattern(fine).search(text)):
            no.add(flag)  # type: ignore[arg-type]
    return yes, no - yes


def _mentions(text: str) -> set[Mention]:
    found: set[Mention] = set()
    if _affirmed(INFECTION, text):
        found.add("swelling")  # an abscess is a swelling: its spread and a fever are asked about
    text = _pattern(NOT_A_FALL).sub(" ", text)
    for mention, pattern in (
        ("pain", PAIN),
        ("trauma", TRAUMA),
        ("swelling", SWELLING),
        ("bleeding", BLEEDING),
    ):
        if _affirmed(pattern, text):
            found.add(mention)  # type: ignore[arg-type]
    return found


def normalise(text: str) -> str:
    """Lower case, straight apostrophes, single spaces: what every pattern here expects."""
    return " ".join(text.lower().replace("’", "'").replace("‘", "'").split())


def triage(text: str) -> Triage:
    """Classify one message: the most urgent level it gives, reasons, mentions, red flags."""
    normalised = normalise(text)
    if not normalised:
        return Triage("routine")
    mentions = _mentions(normalised)
    knocked_out = _applies(KNOCKED_OUT_RULE, normalised)
    if knocked_out:
        mentions.add("trauma")  # a tooth is knocked out by a blow
    flags, denied = _red_flags(normalised, mentions)
    levels: list[tuple[Urgency, str]] = [
        (rule.urgency, rule.reason) for rule in RULES if _applies(rule, normalised)
    ]
    # Some red flags are red only after a blow; `chatbot.screen` also counts one told earlier.
    levels += [
        ("emergency", FLAG_REASONS[flag]) for flag in RED_FLAGS if flag in counted(flags, mentions)
    ]
    urgency: Urgency = max(
        (level for level, _ in levels), key=_ORDER.__getitem__, default="routine"
    )
    reasons: list[str] = []
    for level, reason in levels:
        if level == urgency and reason not in reasons:
            reasons.append(reason)
    baby: bool | None = None
    if _affirmed(BABY_TOOTH, normalised):
        baby = True
    elif _affirmed(ADULT_TOOTH, normalised):
        baby = False
    return Triage(
        urgency,
        tuple(reasons),
        mentions=frozenset(mentions),
        flags=frozenset(flags),
        denied=frozenset(denied),
        knocked_out=knocked_out,
        baby_tooth=baby,
    )


# Red flags that count only with one of these mentions (in any message of the conversation).
AFTER: dict[RedFlag, frozenset[Mention]] = {
    "unconscious": frozenset({"trauma"}),
    "vomiting": frozenset({"trauma"}),
    "vision": frozenset({"trauma", "swelling"}),
}


def counted(flags: Iterable[RedFlag], mentions: Iterable[Mention]) -> set[RedFlag]:
    """The affirmed red flags that are emergencies given what has been mentioned: being
    knocked out or vomiting after a blow, blurred vision after a blow or with swelling."""
    told = set(mentions)
    return {f for f in flags if f not in AFTER or AFTER[f] & told}


def more_urgent(a: Urgency, b: Urgency) -> Urgency:
    """The more urgent of two levels."""
    return a if _ORDER[a] >= _ORDER[b] else b


def rank(level: Urgency) -> int:
    """0 routine, 1 urgent, 2 emergency."""
    return _ORDER[level]
