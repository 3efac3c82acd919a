"""One client socket from handshake to close: authentication, messages, `since` replay.

Replay without gap or duplicate: the subscription joins its topic first, holding live
events back, and notes the hub's head H at that instant (no await in between). Every
event up to H is already in the log, so the replay reads the visible ones in
`(since, H]` from there; every later one is held. The held events are then sent
(skipping any at or below what was already covered) and the subscription goes live —
all without awaiting, so nothing slips in between.

What a client may ask is bounded (limits.py): every message is charged to the socket's
budget (over it, an `error`, and a socket that keeps sending is closed with 4029) and to
its address's rate (past it, the socket is read later); an anonymous replay longer than a
few minutes or a thousand log positions, or past what its address may replay lately, is
answered with `reset` (the page refetches over REST); and a replay hands the event loop
back every slice, so a long one delays other sockets' live events by one slice at most.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from starlette.websockets import WebSocket

from dentalcare.auth.tokens import Principal, authenticate
from dentalcare.clock import Clock
from dentalcare.config import Settings
from dentalcare.db.claims import ANONYMOUS, SYSTEM
from dentalcare.db.errors import DATABASE_DOWN
from dentalcare.db.pool import Database
from dentalcare.errors import DentalCareError, Forbidden, NotFound, RateLimited, Unauthorized
from dentalcare.realtime import protocol, repository
from dentalcare.realtime.events import EventEncoder, LogEvent
from dentalcare.realtime.hub import TOKEN_INVALID, Connection, Hub, Subscription
from dentalcare.realtime.limits import AddressLimits, MessageBudget, Verdict
from dentalcare.realtime.protocol import ClientMessage, MessageError
from dentalcare.realtime.wire import RATE_LIMITED, attach

log = logging.getLogger(__name__)

REPLAY_PAGE = 500
# What a replay sends in one write, between two turns of the event loop: well under a
# millisecond's work, and within the transport's buffer (its high-water mark is 64 KiB).
REPLAY_SLICE = 64
REPLAY_SLICE_BYTES = 64 * 1024
TRY_AGAIN_LATER = 1013


def _reason(text: str) -> str:
    """A close reason fits in 123 bytes."""
    return text.encode()[:120].decode(errors="ignore")


class Session:
    """Serves one accepted WebSocket until it closes."""

    # The hub, settings, database and clock, not the RealtimeService that owns them: the service
    # creates sessions, so a session that knew the service would import it back.
    def __init__(
        self,
        *,
        hub: Hub,
        settings: Settings,
        db: Database,
        clock: Clock,
        websocket: WebSocket,
        address: str,
        limits: AddressLimits,
    ) -> None:
        self.hub = hub
        self.settings = settings
        self.db = db
        self.clock = clock
        self.websocket = websocket
        self.address = address  # the client's, as the per-address limits count it
        self.limits = limits  # what the sockets of that address share
        now = clock.monotonic()
        self.connection = Connection(now=now)
        self.budget = MessageBudget(
            messages_per_second=settings.ws_messages_per_second,
            message_burst=settings.ws_message_burst,
            replays_per_second=settings.ws_replays_per_second,
            replay_burst=settings.ws_replay_burst,
            refusals_before_close=settings.ws_refusals_before_close,
            now=now,
        )

    async def run(self, token: str | None) -> None:
        """Accept, authenticate, then answer messages until the client or the server closes."""
        settings = self.settings
        await self.websocket.accept()
        connection = self.connection
        connection.socket = attach(
            self.websocket,
            limit=settings.ws_send_queue_bytes,
            drain_timeout=settings.ws_idle_timeout_seconds,
            on_overflow=connection.too_slow,
        )
        self.hub.register(connection)
        try:
            if token:
                principal = await self._authenticate(token)
                if principal is not None:
                    self._identify(principal)
            await self._receive_loop()
        finally:
            if connection.expiry is not None:
                connection.expiry.cancel()
                connection.expiry = None
            self.hub.unregister(connection)
            connection.socket.release()

    async def _receive_loop(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if self.connection.socket.closed:
                continue  # closing: wait for the client's answer, ignore anything else
            now = self.clock.monotonic()
            self.connection.last_seen = now
            due_in = self.limits.messages.reserve(self.address, now)
            if due_in > 0:
                # The address is past its rate: read on when its token is due. Until then
                # uvicorn reads nothing more from this socket (TCP holds the client back).
                self.hub.limits.messages_delayed += 1
                await asyncio.sleep(due_in)
                if self.connection.socket.closed:
                    continue
            data = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            if data == protocol.PONG_TEXT:
                # The answer to the keepalive (333 a second at 10,000 sockets): charged like
                # any message, with nothing to parse or answer.
                self._charge_pong()
                continue
            await self._handle(data)
            # One message per turn of the loop: a client that pipelines hundreds of them
            # takes its turn with every other socket instead of holding the loop.
            await asyncio.sleep(0)

    async def _handle(self, data: str | bytes) -> None:
        socket = self.connection.socket
        try:
            try:
                message = protocol.parse(data)
            except MessageError:
                self._charge(None)  # malformed messages cost like any other
                raise
            self._charge(message)
            if message.type == "subscribe":
                await self._subscribe(message)
            elif message.type == "unsubscribe":
                await self._unsubscribe(message)
            elif message.type == "auth":
                await self._reauthenticate(message)
            elif message.type == "ping":
                await socket.send(protocol.PONG)
            # "pong" only proves the client is alive: last_seen is already updated.
        except MessageError as exc:
            if not socket.closed:
                await socket.send(protocol.error(exc.ref, exc.error))

    def _charge_pong(self) -> None:
        try:
            self._charge(protocol.PONG_MESSAGE)
        except MessageError as exc:
            if not self.connection.socket.closed:
                self.connection.socket.push(protocol.error(exc.ref, exc.error))

    def _charge(self, message: ClientMessage | None) -> None:
        """Charge `message` to the socket's budget: MessageError(RateLimited) when over it,
        and the socket closed (4029) when the client keeps sending regardless."""
        replay = message is not None and message.type == "subscribe" and message.since is not None
        now = self.clock.monotonic()
        verdict = self.budget.admit(replay=replay, now=now)
        if verdict is Verdict.ADMIT:
            return
        ref = message.ref if message is not None else None
        if verdict is Verdict.CLOSE:
            self.hub.limits.sockets_closed += 1
            self.connection.close(RATE_LIMITED, "too many messages; reconnect later")
        else:
            self.hub.limits.messages_refused += 1
        retry_after = self.budget.retry_after(replay=replay, now=now)
        what = "replays (subscribe with since)" if replay else "messages"
        raise MessageError(
            RateLimited(
                f"Too many {what} on this socket; try again in {retry_after} s.",
                retry_after=retry_after,
            ),
            ref,
        )

    # ------------------------------------------------------------------ identity

    async def _authenticate(self, token: str) -> Principal | None:
        """The token's principal; a bad token closes the socket with 4001."""
        # A revocation committed after the check read the database but handed to the hub
        # before this socket is identified would reach no socket: look for one.
        checked_at = self.hub.head
        try:
            async with self.db.unit_of_work(ANONYMOUS, read_only=True) as uow:
                principal = await authenticate(uow, self.settings, token, now=self.clock.now())
        except Unauthorized as exc:
            self.connection.close(TOKEN_INVALID, _reason(exc.detail))
        except DATABASE_DOWN:
            self.connection.close(TRY_AGAIN_LATER, "the database is unreachable; try again")
        else:
            if not self.hub.revoked_since(checked_at, principal):
                return principal
            self.connection.close(TOKEN_INVALID, "this session is no longer valid; log in again")
        return None

    def _identify(self, principal: Principal) -> None:
        connection = self.connection
        self.hub.identify(connection, principal)
        if connection.expiry is not None:
            connection.expiry.cancel()
        connection.expiry = self.clock.call_at(
            datetime.fromtimestamp(principal.token_expires_at, UTC),
            connection.close,
            TOKEN_INVALID,
            "the access token expired",
        )

    async def _reauthenticate(self, message: ClientMessage) -> None:
        assert message.token is not None
        current = self.connection.principal
        principal = await self._authenticate(message.token)
        if principal is None:
            return
        if current is not None and principal.user_id != current.user_id:
            raise MessageError(
                Forbidden("A socket keeps one identity: reconnect to switch users."), message.ref
            )
        self._identify(principal)
        await self.connection.socket.send(
            protocol.authenticated(message.ref, principal.token_expires_at)
        )

    # ------------------------------------------------------------------ subscriptions

    async def _unsubscribe(self, message: ClientMessage) -> None:
        assert message.channel is not None
        channel = protocol.canonical(message.channel)
        subscription = self.connection.subscriptions.get(channel)
        if subscription is None:
            raise MessageError(NotFound(f"Not subscribed to {channel!r}."), message.ref)
        self.hub.unsubscribe(subscription)
        await self.connection.socket.send(protocol.unsubscribed(message.ref, channel))

    async def _subscribe(self, message: ClientMessage) -> None:
        assert message.channel is not None
        connection = self.connection
        try:
            spec = protocol.resolve_channel(message.channel, connection.principal)
        except DentalCareError as exc:
            raise MessageError(exc, message.ref) from exc
        limit = self.settings.ws_max_subscriptions
        if spec.channel not in connection.subscriptions and len(connection.subscriptions) >= limit:
            raise MessageError(Forbidden(f"At most {limit} subscriptions per socket."), message.ref)
        since = message.since
        subscription = self.hub.subscribe(connection, spec, replay=since is not None)
        head = subscription.skip_through
        await connection.socket.send(protocol.subscribed(message.ref, spec.channel, head))
        if since is None:
            return
        try:
            await self._replay(subscription, since, head)
        except Exception as exc:
            # Going live now would leave a gap: make the client come back with `since`.
            log.warning("realtime replay failed: %r", exc)
            connection.close(TRY_AGAIN_LATER, "history unavailable; reconnect with since")
            return
        if subscription.active:
            subscription.go_live()

    async def _replay(self, subscription: Subscription, since: int, head: int) -> None:
        """Send the visible events in (since, head] from the log, or `reset`."""
        spec = subscription.spec
        socket = self.connection.socket
        db = self.db
        if since > head:
            async with db.unit_of_work(SYSTEM, read_only=True) as uow:
                latest = await repository.seq_drawn(await uow.connection())
            if since > latest:  # a position this database never reached
                await socket.send(protocol.reset(spec.channel))
            else:  # the client has seen more than this process yet: skip what it has
                subscription.skip_through = since
                subscription.direct = False
            return
        if since == head:
            return
        anonymous = self.connection.principal is None
        if anonymous and not self._anonymous_replay_allowed(head - since):
            await self._reset_too_long(spec.channel)
            return
        recent = self.hub.recent_between(since, head, spec=spec)
        if recent is not None:  # served from memory: no database round trip, no encoding
            first = recent.first_committed_at
            if anonymous and first is not None and self._too_old(first):
                await self._reset_too_long(spec.channel)
                return
            await self._send_frames(recent.frames)
            return
        cursor = since
        first_page = True
        while subscription.active and not socket.closed:
            # Reads only: no wake-up of the listeners (a storm of reconnecting clients
            # would otherwise make every process run a round per resubscription).
            async with db.unit_of_work(SYSTEM, read_only=True) as uow:
                conn = await uow.connection()
                oldest = await repository.oldest_seq(conn) if first_page else None
                rows = await repository.visible_events(
                    conn,
                    after=cursor,
                    through=head,
                    tables=spec.tables,
                    dentist_id=spec.dentist_id,
                    patient_id=spec.patient_id,
                    limit=REPLAY_PAGE,
                )
            events = [LogEvent.from_row(row) for row in rows]
            if first_page:
                first_page = False
                if oldest is None or since + 1 < oldest:
                    await socket.send(protocol.reset(spec.channel))
                    return
                if anonymous and events and self._too_old(events[0].committed_at):
                    await self._reset_too_long(spec.channel)
                    return
            await self._send_frames([EventEncoder(e).frame_for(spec.channel) for e in events])
            if len(rows) < REPLAY_PAGE:
                return
            cursor = events[-1].seq

    def _anonymous_replay_allowed(self, positions: int) -> bool:
        """Whether an anonymous replay covering `positions` of the log may run: short enough,
        and within what its address may replay lately. Known without reading anything (every
        channel's events count), it bounds what the replay scans and sends."""
        if positions > self.settings.ws_anonymous_replay_max_events:
            return False
        now = self.clock.monotonic()
        return self.limits.replay_positions.take(self.address, positions, now)

    async def _reset_too_long(self, channel: str) -> None:
        self.hub.limits.replays_reset += 1
        await self.connection.socket.send(protocol.reset(channel, protocol.REPLAY_TOO_LONG))

    def _too_old(self, first_committed_at: datetime) -> bool:
        """Whether an anonymous replay starting at an event committed then reaches back too
        far in time."""
        age = (self.clock.now() - first_committed_at).total_seconds()
        return age > self.settings.ws_anonymous_replay_max_seconds

    async def _send_frames(self, frames: list[bytes]) -> None:
        """Send replayed events in slices of REPLAY_SLICE events or REPLAY_SLICE_BYTES (one
        write each, then a wait for the socket to drain), handing the loop back between
        slices: the subscription holds live events back meanwhile, so nothing slips in."""
        socket = self.connection.socket
        piece: list[bytes] = []
        size = 0
        for frame in frames:
            piece.append(frame)
            size += len(frame)
            if len(piece) >= REPLAY_SLICE or size >= REPLAY_SLICE_BYTES:
                await socket.send_frames(piece)
                piece, size = [], 0
                await asyncio.sleep(0)
                if socket.closed:
                    return
        if piece:
            await socket.send_frames(piece)
        self.hub.events_delivered += len(frames)
