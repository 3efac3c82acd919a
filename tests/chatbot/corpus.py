"""Single patient messages, grouped by category, with what triage must make of them.

Written the way patients write (typos, slang, British and American phrasing, parents
describing children, negations), not from the rule table. This corpus is a *tuning*
set: the rules were adjusted until it passed. The conversations written before the
rules were run are in `conversations/holdout*.jsonl` (see `test_conversation_sets.py`).

`M(text, urgency, ...)`: `opens` are the red-flag questions the screen would then ask
(None: not checked), `kind` the treatment it maps to, `child` whether it is about a child.
"""

from __future__ import annotations

from dataclasses import dataclass

from dentalcare.chatbot.triage import RedFlag
from dentalcare.vocabulary import Urgency

PAIN_QS: tuple[RedFlag, ...] = ("spreading_swelling", "airway", "fever")
BLOW_QS: tuple[RedFlag, ...] = ("unconscious", "vomiting", "vision", "jaw")
BLEED_Q: tuple[RedFlag, ...] = ("bleeding",)


@dataclass(frozen=True)
class M:
    """One message and what must come of it."""

    text: str
    urgency: Urgency
    opens: tuple[RedFlag, ...] | None = None
    kind: str | None = None
    child: bool | None = None


EMERGENCY: dict[str, list[M]] = {
    "spreading swelling": [
        M("My face is swollen right up to my eye", "emergency"),
        M("the swelling has spread down my neck", "emergency"),
        M("cheek is puffed up and now my eye won't open properly", "emergency"),
        M("my eye is swollen shut from a tooth infection", "emergency"),
        M("swelling under my jaw is spreading towards my throat", "emergency"),
        M("Hi, face has ballooned on one side and it's creeping up to my eye", "emergency"),
        M("the lump on my gum has gotten bigger and my neck is swollen now", "emergency"),
        M("jaw swollen and the swelling keeps spreading", "emergency"),
        M("my sons face is swollen up to his eye from a bad tooth", "emergency", child=True),
    ],
    "airway": [
        M("my jaw is swollen and it's hard to swallow", "emergency"),
        M("I can't breathe properly since my cheek swelled up", "emergency"),
        M("swelling under my tongue, I'm struggling to speak", "emergency"),
        M("finding it really difficult to swallow anything, tooth at the back is bad", "emergency"),
        M("can barely swallow, throat feels like its closing", "emergency"),
        M("I'm short of breath and my mouth is really swollen", "emergency"),
        M("having trouble breathing, lip swelled up after the dentist", "emergency"),
        M("cant swallow my own saliva its that swollen", "emergency"),
        M("his tongue is swollen and he can't talk properly", "emergency"),
    ],
    "bleeding": [
        M("my gum is bleeding and it won't stop", "emergency"),
        M("It hasn't stopped bleeding for an hour", "emergency"),
        M("the socket keeps bleeding even with pressure", "emergency"),
        M("there's heavy bleeding from my mouth", "emergency"),
        M("blood is gushing from where they took my tooth out", "emergency"),
        M("been biting on gauze for 30 mins and it's still bleeding loads, wont clot", "emergency"),
        M("bleeding non stop since the extraction this afternoon", "emergency"),
        M("my daughter's gum keeps bleeding after she lost a tooth, won't stop", "emergency"),
    ],
    "head and face injury": [
        M("I was in a car accident and my face is badly cut", "emergency"),
        M("I think I broke my jaw", "emergency"),
        M("my jaw might be dislocated", "emergency"),
        M("I hit my head and passed out, now a tooth is loose", "emergency"),
        M("banged my head on the pool edge and I've been sick twice", "emergency"),
        M("he hit his head, now seeing double and his tooth is chipped", "emergency"),
        M("fell off my bike, my jaw won't close properly", "emergency"),
        M("got hit in the face with a cricket ball, blurry vision since", "emergency"),
        M(
            "took an elbow to the mouth playing basketball and my teeth don't meet anymore",
            "emergency",
        ),
        M(
            "I blacked out for a second after falling and now my front teeth are wobbly",
            "emergency",
        ),
        M("my husband was knocked out in a fight and has broken teeth", "emergency"),
        M("she fell down the stairs, was unconscious briefly, and chipped a tooth", "emergency"),
        M("after the crash my bite feels completely off and my jaw hurts", "emergency"),
        M("punched in the jaw, can't close my mouth", "emergency"),
        M("fell off the trampoline, been vomiting and her tooth is pushed in", "emergency"),
    ],
    "fever": [
        M("toothache and I have a fever", "emergency"),
        M("my tooth hurts and I've got a temperature", "emergency"),
        M("abscess and I'm shivering with a fever", "emergency"),
        M("swollen gum and I feel hot and cold, temp of 38.9", "emergency"),
        M("bad toothache and I'm burning up", "emergency"),
    ],
}

URGENT: dict[str, list[M]] = {
    "severe pain": [
        M("severe pain and painkillers don't help", "urgent", PAIN_QS, "Emergency visit"),
        M("the ibuprofen isn't working at all", "urgent"),
        M("unbearable toothache", "urgent", PAIN_QS),
        M("I can't sleep with this toothache", "urgent", PAIN_QS),
        M("toothache is killing me", "urgent", PAIN_QS),
        M("worst pain of my life in my back tooth", "urgent", PAIN_QS),
        M("in agony with my tooth since last night", "urgent", PAIN_QS),
        M("pain is 10/10, can't function", "urgent", PAIN_QS),
        M("its throbbing all night and paracetamol does nothing", "urgent", PAIN_QS),
        M("excruciating pain in my upper molar when i drink anything", "urgent", PAIN_QS),
        M("my tooth is in so much pain I've been crying", "urgent", PAIN_QS),
        M("awful toothache for 3 days, haven't slept", "urgent", PAIN_QS),
    ],
    "broken tooth": [
        M("I broke my front tooth", "urgent", (), "Emergency visit"),
        M("cracked a molar on a nut", "urgent", ()),
        M("half my tooth snapped off eating toffee", "urgent", ()),
        M("chipped a tooth biting my fork, no pain", "urgent", ()),
        M("my back tooth shattered, theres bits missing", "urgent", ()),
        M("broken tooth and it hurts when I bite", "urgent", PAIN_QS),
        M("my crown cracked and the sharp edge is cutting my tongue", "urgent"),
        M("sharp bit of broken tooth keeps catching my cheek", "urgent"),
        M("brace wire is poking into my cheek and it's bleeding a little", "urgent"),
    ],
    "swelling and infection": [
        M("my gum is swollen", "urgent", PAIN_QS),
        M("there's a swelling on my gum above the tooth", "urgent", PAIN_QS),
        M("I think I have an abscess", "urgent", PAIN_QS),
        M("there's pus coming out of my gum", "urgent", PAIN_QS),
        M("a gum boil has come up next to my tooth", "urgent", PAIN_QS),
        M("my gum is puffy and sore around the wisdom tooth", "urgent", PAIN_QS),
        M("infected tooth, gum is oozing", "urgent", PAIN_QS),
        M("small lump on my gum that's tender", "urgent", PAIN_QS),
    ],
    "knocked out": [
        M("my tooth got knocked out playing rugby", "urgent", BLOW_QS),
        M("a hockey stick knocked my front tooth clean out", "urgent", BLOW_QS),
        M("my son's front tooth fell out when he fell off his bike", "urgent", BLOW_QS),
        M("I lost a tooth in a fight", "urgent"),
        M("I hit my head and knocked out a tooth", "urgent", BLOW_QS),
        M("front tooth came out completely when I fell over", "urgent", BLOW_QS),
        M("my adult tooth got knocked clean out at hockey practice", "urgent", BLOW_QS),
        M("knocked out one of my teeth on the swimming pool wall", "urgent", BLOW_QS),
        M("tooth popped out when I was hit with a ball, I have it in milk", "urgent", BLOW_QS),
    ],
    "after an extraction": [
        M("I had a tooth out yesterday and it's still bleeding", "urgent", BLEED_Q),
        M("pain after my extraction", "urgent", PAIN_QS),
        M("I think I have a dry socket", "urgent", ()),
        M("had my wisdom tooth removed on tuesday and the pain is getting worse", "urgent"),
        M("the hole where my tooth was pulled is agony", "urgent"),
    ],
    "injury without red flags": [
        M("I fell and hit my face and my front tooth is broken", "urgent", BLOW_QS),
        M("walked into a door, front tooth is loose now", "urgent", BLOW_QS),
        M(
            "my daughter fell off the swing and her tooth is pushed back",
            "urgent",
            BLOW_QS,
            child=True,
        ),
    ],
}

ROUTINE: dict[str, list[M]] = {
    "negations": [
        M("no swelling, no fever, just a dull ache", "routine", ("airway",)),
        M("doesn't hurt, no bleeding", "routine", ()),
        M("I'm not in severe pain, just sensitive teeth", "routine"),
        M("it's not bleeding anymore, would like it checked", "routine", ()),
        M("bit of an ache. no swelling at all and no temperature", "routine", ("airway",)),
        M(
            "toothache, but I can breathe and swallow fine and there's no swelling or fever",
            "routine",
            (),
        ),
        M("Not swollen, not bleeding, just a small chip on the edge I'd like fixed", "routine", ()),
        M(
            "I don't have a fever and nothing is swollen, just a twinge when I chew",
            "routine",
            ("airway",),
        ),
        M("my gums bled when I brushed but it stopped straight away", "routine", ()),
        M("no pain, no swelling, just want a check up", "routine", (), "Check-up"),
        M(
            "slight ache, no trouble breathing or swallowing",
            "routine",
            ("spreading_swelling", "fever"),
        ),
        M(
            "he bumped his mouth but he didn't pass out and hasn't been sick",
            "routine",
            ("vision", "jaw"),
        ),
        M("I never had any swelling, it just aches sometimes", "routine", ("airway", "fever")),
        M("neither a fever nor swelling, just sore", "routine", ("airway",)),
    ],
    "treatments": [
        M("I need a check-up", "routine", (), "Check-up"),
        M("I'd like a cleaning", "routine", (), "Scale & polish"),
        M("my filling fell out", "routine", (), "Filling"),
        M("my crown came off", "routine", ()),
        M("I'd like my teeth whitened", "routine", (), "Whitening"),
        M("can I book a scale and polish", "routine", (), "Scale & polish"),
        M("due my 6 month check", "routine", (), "Check-up"),
        M("i think i have a cavity", "routine", (), "Filling"),
        M("there's a hole in my tooth", "routine", (), "Filling"),
        M("need a root canal finishing", "routine", (), "Root canal"),
        M("I want a tooth taken out, it's dead and grey", "routine", (), "Extraction"),
        M("my wisdom teeth need to come out", "routine", (), "Wisdom tooth removal"),
        M(
            "can I get an appointment to have my wisdom tooth removed",
            "routine",
            (),
            "Wisdom tooth removal",
        ),
        M("interested in invisalign", "routine", (), "Orthodontic consultation"),
        M("I'd like to straighten my teeth", "routine", (), "Orthodontic consultation"),
        M("my retainer doesn't fit any more", "routine", (), "Orthodontic consultation"),
        M("bracket came off my braces", "routine", (), "Orthodontic consultation"),
        M("my teeth are really yellow, can you whiten them", "routine", (), "Whitening"),
        M("hygienist appointment please, lots of tartar", "routine", (), "Scale & polish"),
        M("new patient, would like to register and have an exam", "routine", (), "Check-up"),
        M("I'd like someone to have a look at my teeth", "routine", (), "Check-up"),
        M("routine check", "routine", (), "Check-up"),
        M("my gums bleed a little when I brush", "routine"),
        M("it has hurt for 3 days", "routine", PAIN_QS, "Emergency visit"),
        M("a dull ache when I drink something cold", "routine", PAIN_QS),
        M("tooth is a bit sore when I chew", "routine", PAIN_QS, "Emergency visit"),
        M("I want to discuss getting a filling replaced", "routine", (), "Filling"),
        M("please book me in to get this tooth pulled, no pain", "routine", (), "Extraction"),
        M("", "routine", ()),
    ],
    "children": [
        M("braces consultation for my daughter", "routine", (), "Orthodontic consultation", True),
        M("check up for my son please", "routine", (), "Child check-up", True),
        M("my 4 year old needs her first check-up", "routine", (), "Child check-up", True),
        M("can I bring my kids in for a check up", "routine", (), "Child check-up", True),
        M("my little one has a brown spot on a tooth", "routine", (), "Child check-up", True),
        M("my 7yo has toothache", "routine", PAIN_QS, "Emergency visit", True),
        M("my 6 year old's wobbly tooth fell out", "routine", (), "Child check-up", True),
        M(
            "our toddler bumped his lip on the table, tooth looks fine",
            "routine",
            BLOW_QS,
            None,
            True,
        ),
        M(
            "my son is 12 and his teeth are crooked",
            "routine",
            (),
            "Orthodontic consultation",
            True,
        ),
        M(
            "my daughter chipped her tooth on the climbing frame",
            "urgent",
            BLOW_QS,
            "Emergency visit",
            True,
        ),
        M("check-up for me and my husband", "routine", (), "Check-up", False),
        M("make it for me instead, a normal adult check up", "routine", (), "Check-up", False),
    ],
    "not what they seem": [
        M("I'm sick of this toothache", "routine", PAIN_QS),
        M("my filling came out when I was eating", "routine", (), "Filling"),
        M("I fainted at the dentist last time so I'm nervous, just a check-up", "routine"),
        M("I'm sensitive to hot and cold", "routine", ()),
        M("I hit the gym after work so evenings please, check-up", "routine"),
        M("my old dentist retired, need a new one for a cleaning", "routine", (), "Scale & polish"),
        M("my crown fell off, no pain", "routine", ()),
        M("the temporary filling came out", "routine", (), "Filling"),
        M("denture cracked", "routine", ()),
        M("my tooth needs to be taken out apparently", "routine", (), "Extraction"),
    ],
}

# Added while probing phrasings the rules had not met (tuning, like the rest).
ROUTINE["more phrasings"] = [
    M("I'd like to get my teeth cleaned", "routine", (), "Scale & polish"),
    M("can I have a clean and polish", "routine", (), "Scale & polish"),
    M("teeth bleaching", "routine", (), "Whitening"),
    M("my teeth are yellow", "routine", (), "Whitening"),
    M("my gums are bleeding a lot when I brush", "routine", BLEED_Q),
    M("I have a toothache, it's really bad but no swelling", "urgent", ("airway", "fever")),
    M("my child needs to see a dentist", "routine", (), "Child check-up", True),
    M("booking for my grandson, he's 10", "routine", (), "Child check-up", True),
    M("Is it possible to book a check up for both my kids", "routine", (), "Child check-up", True),
    M("had root canal last week and it still hurts", "routine", PAIN_QS, "Emergency visit"),
    M("my temporary crown came off", "routine", ()),
    M("my veneer fell off", "routine", ()),
    M("I grind my teeth at night", "routine", ()),
    M("mouth ulcer for two weeks", "routine", ()),
]
# The emergencies holdout3's first run missed (now tuning), and their relatives.
EMERGENCY["more phrasings"] = [
    M(
        "it hurts to swallow and I can't even get water down, the tooth at the back is bad",
        "emergency",
    ),
    M("omg my mouth has suddenly swelled up and I can hardly breathe", "emergency"),
    M("my throat feels like it's closing up", "emergency"),
    M("his tongue has swollen up a lot", "emergency"),
    M("my voice sounds muffled and my jaw is swollen", "emergency"),
    M("I can't open my eye, my cheek is so swollen", "emergency"),
    M("she fell and hit her face, now she's drowsy and confused", "emergency"),
    M("he banged his head and was out of it for a bit", "emergency"),
    M("got hit in the face, my eyes have gone blurry", "emergency"),
    M("fell off my bike and now my mouth won't open", "emergency"),
]
URGENT["more phrasings"] = [
    M("I hit my mouth on the steering wheel, lip is cut and bleeding", "urgent"),
    M("my toddler fell and bumped her teeth, there's blood", "urgent", None, None, True),
    M("I knocked my front tooth, it's a bit wobbly now", "urgent", BLOW_QS),
    M("tooth broke in half", "urgent", ()),
    M("I need to be seen today, my tooth is killing me", "urgent", PAIN_QS),
    M("my lip is swollen after a bee sting", "urgent", PAIN_QS),
]

ALL: dict[str, list[M]] = {
    **{f"emergency: {k}": v for k, v in EMERGENCY.items()},
    **{f"urgent: {k}": v for k, v in URGENT.items()},
    **{f"routine: {k}": v for k, v in ROUTINE.items()},
}
