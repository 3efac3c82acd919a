"""The booking assistant's dialogue: a state machine over a serialisable `ChatState`.

greet → what is wrong → triage and the red-flag screen → preferences (dentist, day, time)
→ 3–5 real free slots of dentists who perform the treatment → name, e-mail, phone (known
already for a logged-in patient) → read back → book. Nothing free that fits, or the times
turned down: the waitlist is offered instead (`booking`); a patient may also ask for it.

Every message is triaged first, whatever the stage (`collect.take_clinical`): new clinical
information raises the urgency, and an emergency stops everything — from then on the
conversation gives emergency advice and never offers a slot or books. Information may
come in any order and several pieces at once; `collect.absorb` takes it (corrections
overwrite) and `booking.BookingFlow.advance` asks for whatever is still missing.
Questions about the clinic (prices, hours, address, children) are answered at any stage
and the booking carries on. The assistant never sends the same message twice in a row:
when a message does not fit, it says what it has understood and offers a way on
(`replies.stuck`). Cancelling and rescheduling live in `manage`, slot choice in
`offering`, wording in `replies`. The clinic is reached only through `ClinicPort`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from uuid import UUID
from zoneinfo import ZoneInfo

from dentalcare.chatbot import manage, offering, replies, screen, waitlisting
from dentalcare.chatbot.booking import BookingFlow
from dentalcare.chatbot.collect import Changes, absorb, take_clinical
from dentalcare.chatbot.ports import ClinicFacts, ClinicPort
from dentalcare.chatbot.state import ChatState, KnownPatient, Mode, Reply, Turn
from dentalcare.chatbot.understanding import (
    Context,
    Expecting,
    Parse,
    RuleBasedUnderstanding,
    Understanding,
)
from dentalcare.jsonshape import hh_mm

_EXPECTING: dict[str, Expecting] = {
    "complaint": "complaint",
    "screen": "screen",
    "preference": "preference",
    "slot": "slot",
    "details": "details",
    "confirm": "confirm",
    "manage_reference": "reference",
    "manage_email": "email",
    "manage_action": "manage_confirm",
    "manage_confirm": "manage_confirm",
}
# Questions about the clinic, answered at any stage.
_INFO = frozenset(
    {"hours", "dentists", "price", "offered", "address", "children", "phone", "human"}
)


class Dialogue:
    """The conversation engine. Stateless itself: every call takes and returns a state."""

    def __init__(
        self,
        *,
        clinic: ClinicPort,
        understanding: Understanding | None = None,
        timezone: ZoneInfo | None = None,
    ) -> None:
        self.clinic = clinic
        self.understanding = understanding or RuleBasedUnderstanding()
        self.tz = timezone or ZoneInfo("UTC")

    def start(self, patient: KnownPatient | None = None) -> Turn:
        """A new conversation: the greeting, and for a logged-in patient their details."""
        state = ChatState(stage="complaint")
        if patient is not None:
            state.logged_in = True
            state.name, state.email, state.phone = patient.name, patient.email, patient.phone
        turn = Turn(state)
        turn.add(replies.greeting(state))
        state.recent = [turn.replies[-1].text]
        return turn

    async def respond(self, state: ChatState, text: str, *, now: datetime) -> Turn:
        """The assistant's answer to `text`, and the state after it (`state` is not changed)."""
        turn = Turn(ChatState.from_json(state.to_json()))
        directory = await self.clinic.dentists()
        context = Context(
            today=now.astimezone(self.tz).date(),
            directory=directory,
            expecting=self._expecting(turn.state),
            missing=turn.state.missing_details(),
        )
        parse = await self.understanding.parse(text, context)
        flow = BookingFlow(self.clinic, self.tz, now, directory)
        facts = await self.clinic.clinic_facts()
        await self._dispatch(turn, parse, flow, facts)
        await flow.settle_hold(turn)
        self._never_twice(turn, facts)
        return turn

    def slot_taken(
        self, state: ChatState, *, dentist_id: UUID, on: date, at: time
    ) -> tuple[ChatState, Reply | None]:
        """Someone else took a slot (e.g. the realtime feed says so): the new state, and
        a message to show now if the patient was looking at that slot."""
        key = (str(dentist_id), on.isoformat(), hh_mm(at) or "")
        if state.stage not in ("slot", "details", "confirm"):
            return state, None
        if state.slot is not None and state.slot.key == key:
            label = replies.slot_sentence(state.slot)
        else:
            shown = [s for s in state.offered if s.key == key]
            if not shown:
                return state, None
            label = replies.slot_label(shown[0])
        out = ChatState.from_json(state.to_json())
        out.taken = [*out.taken[-19:], "|".join(key)]
        return out, Reply(f"Sorry — {label} has just been taken by someone else.")

    # ------------------------------------------------------------------ dispatch

    @staticmethod
    def _expecting(state: ChatState) -> Expecting:
        if state.stage == "complaint" and state.freeform_complaint:
            return "complaint_text"
        return _EXPECTING.get(state.stage, "nothing")

    async def _dispatch(
        self, turn: Turn, parse: Parse, flow: BookingFlow, facts: ClinicFacts
    ) -> None:
        state = turn.state
        intents = parse.intents
        if parse.gave_up:
            turn.say(replies.SAY_IT_SIMPLER)  # nothing taken from it: the state stays
            return
        was_emergency = state.findings.emergency
        changes = take_clinical(state, parse)
        if state.findings.emergency:
            info = _INFO & intents
            if was_emergency and info:
                await self._answer_info(turn, info, parse, facts)
            flow.emergency(turn)
            return
        if state.findings.knocked_out and not state.advised:
            state.advised = True  # first aid first: minutes count for a knocked-out tooth
            turn.add(replies.knocked_out_advice(baby=state.findings.baby_tooth))
        if parse.gibberish:
            state.misunderstood += 1
            turn.say("Sorry, I didn't understand that.")
            self._prompt(turn)
            return
        if "restart" in intents:
            turn.state = self._fresh(state)
            if not parse.has_booking_info:
                turn.say(
                    "Let's start again. What's the problem, or what would you like to come in for?",
                    list(replies.START_CHOICES),
                )
                return
            state = turn.state
        if "help" in intents:
            turn.say(replies.HELP)
            self._prompt(turn)
            return
        declining = state.stage in ("confirm", "manage_confirm") and not parse.reference
        if declining and ({"cancel", "stop"} & intents) and state.mode != "reschedule":
            parse = replace(parse, answer=False, intents=intents - {"cancel", "stop"})
            intents = parse.intents
        elif "stop" in intents and state.stage not in manage.MANAGE_STAGES:
            if state.stage == "complaint" and not state.complaint:
                intents = intents | {"cancel"}
            else:
                turn.state = self._fresh(state)
                turn.say(
                    "Okay, I've stopped there. Is there anything else I can help with?",
                    list(replies.START_CHOICES),
                )
                return
        info = _INFO & intents
        if info:
            await self._answer_info(turn, info, parse, facts)
            answered_only = not (
                parse.has_booking_info
                or parse.reference
                or parse.answer is not None
                or parse.screen_answer is not None
                or changes.any
                or parse.triage.mentions
                or ("book" in intents and state.suggested and not state.complaint)
            )
            if answered_only:
                self._prompt(turn, resume=True)
                return
        if state.stage in manage.MANAGE_STAGES:
            if await manage.handle(self.clinic, turn, parse):
                await flow.advance(turn, Changes(preferences=True), understood=True)
            return
        rescheduling = state.mode == "reschedule" and state.booking is not None
        wants = {"cancel", "reschedule"} & intents
        if (wants or parse.reference) and not (rescheduling and not parse.reference):
            mode: Mode = (
                "manage" if len(wants) != 1 else ("cancel" if "cancel" in wants else "reschedule")
            )
            turn.state = manage.begin(state, parse, mode)
            if await manage.proceed(self.clinic, turn):
                await flow.advance(turn, Changes(preferences=True), understood=True)
            return
        if state.stage in ("booked", "done", "waitlisted"):
            if not (parse.has_booking_info or {"book", "waitlist"} & intents):
                if "thanks" in intents or parse.answer is False:
                    turn.say("You're welcome — take care!")
                elif not info:
                    turn.say(
                        "Is there anything else I can help with? I can book, cancel or "
                        "reschedule an appointment.",
                        list(replies.START_CHOICES),
                    )
                return
            turn.state = self._fresh(state)
        if "thanks" in intents and not parse.has_booking_info and parse.answer is None:
            turn.say("You're welcome!")
            self._prompt(turn, resume=True)
            return
        greeting_only = not (parse.has_booking_info or parse.triage.mentions or changes.any)
        if "greeting" in intents and greeting_only and not info:
            turn.say("Hello!")
            self._prompt(turn)
            return
        await self._booking_flow(turn, parse, flow, changes, handled=bool(info))

    async def _answer_info(
        self, turn: Turn, info: frozenset[str], parse: Parse, facts: ClinicFacts
    ) -> None:
        """Answer questions about the clinic from its facts, hours and directory."""
        dentists = await self.clinic.dentists()
        if "hours" in info:
            turn.say(await self.clinic.opening_hours())
        if "offered" in info:
            turn.say(replies.offered_answer(facts, parse.treatment))
        elif "price" in info:
            asked = parse.treatment or turn.state.treatment or turn.state.suggested
            turn.say(replies.price_answer(facts, asked))
        if "address" in info:
            turn.say(replies.address_answer(facts))
        if "children" in info:
            turn.say(replies.children_answer(dentists, facts))
        if "dentists" in info:
            turn.add(replies.dentists_list(dentists))
        if "human" in info:
            turn.add(replies.talk_to_clinic(facts))
        elif "phone" in info:
            turn.say(replies.phone_answer(facts))
        state = turn.state
        if parse.treatment and not state.complaint:
            state.suggested = parse.treatment  # "how much is whitening?" … "book me in"
        if state.stage == "complaint" and not state.complaint and state.suggested:
            what = replies.treatment_phrase(state.suggested)
            turn.say(
                f"Would you like me to book {what}?",
                [replies.QuickReply(f"Book {what}", f"book {what}")],
            )

    def _fresh(self, state: ChatState) -> ChatState:
        """A new booking in the same conversation (what it knows clinically stays)."""
        fresh = ChatState(
            stage="complaint",
            logged_in=state.logged_in,
            findings=state.findings,
            child=state.child,
            age=state.age,
            advised=state.advised,
            recent=state.recent,
            hold=state.hold,  # released at the end of the turn: no slot is chosen now
        )
        if state.logged_in:
            fresh.name, fresh.email, fresh.phone = state.name, state.email, state.phone
        return fresh

    def _prompt(self, turn: Turn, *, resume: bool = False) -> None:
        """Ask again for what the current stage is waiting for (`resume`: after answering
        a question, so say that the booking carries on)."""
        state = turn.state
        before = len(turn.replies)
        if state.stage in manage.MANAGE_STAGES:
            manage.prompt(turn)
        elif state.stage == "complaint":
            if state.suggested and resume:
                return  # the answer already offered to book what was asked about
            turn.add(replies.ask_complaint(again=False))
        elif state.stage == "screen":
            turn.add(replies.screen_question(state.asked, again=True))
        elif state.stage == "preference":
            turn.add(replies.ask_preference(state))
        elif state.stage == "slot" and state.offered:
            turn.add(replies.offer(state.offered, "The times I found:"))
        elif state.stage == "details":
            turn.add(replies.ask_details(state.missing_details(), first=False))
        elif state.stage == "confirm" and state.slot is not None:
            turn.add(replies.read_back(state))
        elif state.stage == "emergency":
            turn.add(replies.emergency(state.reasons, repeat=1))
        else:
            turn.say("Is there anything else I can help with?", list(replies.START_CHOICES))
        booking = state.complaint or state.stage in manage.MANAGE_STAGES
        if (
            resume
            and booking
            and len(turn.replies) > before
            and state.stage not in ("booked", "done", "waitlisted")
        ):
            last = turn.replies[-1]
            turn.replies[-1] = Reply(f"Back to your booking: {last.text}", last.quick_replies)

    def _never_twice(self, turn: Turn, facts: ClinicFacts) -> None:
        """Never the same message twice: one that was said in either of the last two turns
        becomes what was understood and a way on (quick replies, talking to the clinic)."""
        state = turn.state
        if not turn.replies:
            return
        if turn.replies[-1].text in state.recent:
            # Three wordings, at most two of them recent: one is always new.
            for attempt in range(state.stuck + 1, state.stuck + 4):
                reworded = replies.stuck(state, facts, attempt=attempt)
                if reworded.text not in state.recent:
                    break
            state.stuck = attempt
            turn.replies[-1] = reworded
        else:
            state.stuck = 0
        state.recent = [*state.recent, turn.replies[-1].text][-2:]

    # ------------------------------------------------------------------ booking flow

    async def _booking_flow(
        self, turn: Turn, parse: Parse, flow: BookingFlow, changes: Changes, *, handled: bool
    ) -> None:
        state = turn.state
        free = await self._live_check(turn)
        if state.mode == "book" and waitlisting.take_answer(turn, parse):
            return
        changes = absorb(turn, parse, changes)
        if free is not None:
            if state.slot is not None and state.slot.key not in free:
                await flow.lost(turn, state.slot)  # taken since it was offered
                return
            gone = [s for s in state.offered if s.key not in free]
            if gone and state.stage == "slot":
                state.offered = [s for s in state.offered if s.key in free]
                labels = ", ".join(replies.slot_label(s) for s in gone)
                turn.say(
                    f"Heads-up: {labels} {'has' if len(gone) == 1 else 'have'} just been taken."
                )
        unscreened = state.mode in ("book", "reschedule") and bool(screen.pending(state.findings))
        confirming = state.stage == "confirm" and state.slot is not None
        if confirming and not changes.any and not unscreened:
            if parse.answer is True:
                await flow.commit(turn)
            elif parse.answer is False:
                turn.say(
                    "No problem. What should I change? Pick other times, name another day, time "
                    "or dentist, or correct your name, e-mail or phone.",
                    [replies.QuickReply("Other times", "other times")],
                )
            elif not handled:
                turn.say("Shall I go ahead? Please answer yes or no.", list(replies.YES_NO))
            return
        understood = (
            changes.any
            or handled
            or parse.answer is not None
            or bool({"book", "waitlist"} & parse.intents)
        )
        await flow.advance(turn, changes, understood=understood)

    async def _live_check(self, turn: Turn) -> set[tuple[str, str, str]] | None:
        """Live awareness: which of the slots on the table are still free (None: none shown)."""
        state = turn.state
        if state.stage not in ("slot", "details", "confirm") or not (state.offered or state.slot):
            return None
        shown = list(state.offered) + ([state.slot] if state.slot else [])
        free = await offering.still_free(
            self.clinic, shown, treatment_name=state.treatment, held=state.hold
        )
        return {key for key in free if "|".join(key) not in state.taken}
