"""The hub: who is subscribed to what, and fan-out of each logged event to those sockets.

Subscriptions are indexed by topic (`patient:<id>`, `dentist:<id>`, `admin`,
`availability:<id>`, `availability`, `dentists`); an event looks up its few topics and
writes its once-encoded frame to the sockets found there — never a scan of all subscribers.
Everything here runs on the event loop without awaiting, so an event reaches every socket
of a topic before the next one is looked at.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from dentalcare.auth.tokens import Principal
from dentalcare.clock import Timer
from dentalcare.realtime.events import EventEncoder, LogEvent, Revocation, event_frame
from dentalcare.realtime.limits import LimitCounts
from dentalcare.realtime.wire import TOO_SLOW, Socket

log = logging.getLogger(__name__)

TOKEN_INVALID = 4001
RECENT_EVENTS = 20_000
KINDS = ("appointments", "availability", "global")
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """A channel a client may subscribe to, resolved for that client."""

    channel: str  # as the client named it
    topic: str  # the hub topic it reads
    kind: str  # "appointments", "availability" (one dentist) or "global"
    name: str  # channelName in /api/sync/status, e.g. "appointments:dentist:<id>"
    tables: tuple[str, ...]
    dentist_id: UUID | None = None
    patient_id: UUID | None = None


class Connection:
    """One client socket: its identity, its subscriptions, when it was last heard from."""

    __slots__ = ("expiry", "id", "last_seen", "on_close", "principal", "socket", "subscriptions")

    socket: Socket  # attached right after the handshake

    def __init__(self, *, now: float) -> None:
        self.id = f"c{next(_ids)}"
        self.principal: Principal | None = None
        self.subscriptions: dict[str, Subscription] = {}
        self.last_seen = now
        self.expiry: Timer | None = None
        self.on_close: Callable[[], object] | None = None

    def close(self, code: int, reason: str = "") -> None:
        """Close the socket; it leaves the hub at once, whether or not the client answers."""
        if self.socket.closed:
            return
        self.socket.close(code, reason)
        if self.on_close is not None:
            self.on_close()

    def too_slow(self) -> None:
        """The client cannot keep up: close with 4008 so it reconnects with `since`."""
        self.close(TOO_SLOW, "too slow to keep up; reconnect with since")


class Subscription:
    """One channel on one socket. While its `since` replay runs, live events are held back."""

    __slots__ = (
        "active",
        "connection",
        "direct",
        "held",
        "held_bytes",
        "hold_limit",
        "id",
        "replaying",
        "skip_through",
        "socket",
        "spec",
    )

    def __init__(self, connection: Connection, spec: ChannelSpec, *, hold_limit: int) -> None:
        self.id = f"s{next(_ids)}"
        self.connection = connection
        self.socket = connection.socket
        self.spec = spec
        self.active = True
        # Events up to this seq were (or will be) sent by the replay: never send them again.
        self.skip_through = 0
        self.replaying = False
        # Live, and every event from now on is new to the client: the hub's fast path.
        self.direct = False
        self.held: list[tuple[int, bytes]] = []
        self.held_bytes = 0
        self.hold_limit = hold_limit

    def deliver(self, seq: int, frame: bytes, outbox: Outbox | None) -> None:
        """A live event while not `direct`: held during the replay, skipped if the replay (or
        the client) had it, else sent — and from then on the subscription is direct."""
        if self.replaying:
            self.hold(seq, frame)
        elif seq > self.skip_through:
            self.direct = True
            if outbox is None:
                self.socket.write_frame(frame)
            else:
                queue(outbox, self.socket, frame)

    def hold(self, seq: int, frame: bytes) -> None:
        """A live event that arrived during the replay: sent by `go_live`, unless covered."""
        self.held.append((seq, frame))
        self.held_bytes += len(frame)
        if self.held_bytes > self.hold_limit:
            self.connection.too_slow()

    def go_live(self) -> None:
        """Send the held-back events the replay did not cover, then deliver directly."""
        frames = [frame for seq, frame in self.held if seq > self.skip_through]
        if frames:
            self.socket.write_frames(frames)
        self.held = []
        self.held_bytes = 0
        self.replaying = False


# The frames a batch of events has for each socket: one frame, or a list once there are more.
Outbox = dict[Socket, bytes | list[bytes]]
# A batch of more events than this is gathered per socket and written once per socket;
# a smaller one is written event by event (the same order on every socket, and cheaper:
# a socket rarely has two events in a small batch).
GATHER_FROM = 4


def queue(outbox: Outbox, socket: Socket, frame: bytes) -> None:
    """Add `frame` to what `socket` is sent when the outbox is flushed."""
    queued = outbox.get(socket)
    if queued is None:
        outbox[socket] = frame
    elif isinstance(queued, bytes):
        outbox[socket] = [queued, frame]
    else:
        queued.append(frame)


def flush(outbox: Outbox) -> None:
    """Write what a batch gathered: one write (one system call) per socket.

    A quiet moment's batch is one transaction's events; under load the listener's rounds
    carry more events, and each socket's write carries all of its share of them.
    """
    for socket, queued in outbox.items():
        if isinstance(queued, bytes):
            socket.write_frame(queued)
        else:
            socket.write_frames(queued)


# One recent event as the hub remembers it, for `since` replays and revocation checks: a
# plain tuple of strings, numbers and bytes, which the cycle collector stops tracking after
# its first look, so that 40,000 of them add nothing to its passes — (seq, table, dentist
# id, patient id, committed_at, the serialised fields after `channel`, revocation). Their
# frames are kept by channel, then seq (dictionaries of numbers and bytes: untracked too).
Recent = tuple[int, str, str | None, str | None, datetime, bytes, Revocation | None]


@dataclass(frozen=True, slots=True)
class RecentSlice:
    """What a replay from memory sends on one channel: the events' seqs and frames, and
    when the first of them committed."""

    seqs: list[int]
    frames: list[bytes]
    first_committed_at: datetime | None


class LatencyWindow:
    """Commit→send latencies of the most recent events, in milliseconds."""

    def __init__(self, size: int = 10_000) -> None:
        self._samples: deque[float] = deque(maxlen=size)

    def add(self, milliseconds: float) -> None:
        """Record one sample."""
        self._samples.append(milliseconds)

    def percentiles(self) -> dict[str, float | None]:
        """p50 / p95 / p99 / max over the window (None before the first event)."""
        if not self._samples:
            return {"p50": None, "p95": None, "p99": None, "max": None}
        ordered = sorted(self._samples)
        last = len(ordered) - 1

        def at(fraction: float) -> float:
            return round(ordered[min(last, int(fraction * len(ordered)))], 3)

        return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 3)}


class Hub:
    """Subscribers by topic, and the fan-out of events to them."""

    def __init__(self, *, hold_limit: int, recent_events: int = RECENT_EVENTS) -> None:
        self.head = 0  # seq of the last event published
        self.hold_limit = hold_limit
        # The latest events, so that a reconnecting client's `since` replay is served from
        # memory: every event with recent_floor < seq <= head is in `_recent` (None: not
        # known yet, replay from the log).
        self.recent_floor: int | None = None
        self._recent: list[Recent] = []
        self._recent_seqs: list[int] = []
        self._recent_frames: dict[str, dict[int, bytes]] = {}
        self._recent_keep = recent_events
        self.connections: dict[Connection, None] = {}
        self._topics: dict[str, dict[Subscription, None]] = {}
        self._by_user: dict[UUID, dict[Connection, None]] = {}
        self._by_dentist: dict[UUID, dict[Connection, None]] = {}
        self.kind_counts = dict.fromkeys(KINDS, 0)
        self.events_received = 0
        self.events_delivered = 0
        self.connections_closed = 0  # since start: the heap freezer's measure of churn
        self.latency = LatencyWindow()
        self.limits = LimitCounts()

    # ------------------------------------------------------------------ connections

    def register(self, connection: Connection) -> None:
        """A new socket."""
        self.connections[connection] = None
        loop = asyncio.get_running_loop()
        # Not during a fan-out loop: a socket closed mid-publish leaves right after it.
        connection.on_close = lambda: loop.call_soon(self.unregister, connection)

    def unregister(self, connection: Connection) -> None:
        """A socket is gone: drop its subscriptions and its identity."""
        for subscription in list(connection.subscriptions.values()):
            self.unsubscribe(subscription)
        self.identify(connection, None)
        if self.connections.pop(connection, False) is None:
            self.connections_closed += 1
        # No reference cycle left through the closure: the connection's objects are freed
        # as soon as the session lets go of them, even once frozen (heap.py).
        connection.on_close = None

    def identify(self, connection: Connection, principal: Principal | None) -> None:
        """Set (or clear) who is on `connection`."""
        old = connection.principal
        if old is not None:
            _discard(self._by_user, old.user_id, connection)
            if old.dentist_id is not None:
                _discard(self._by_dentist, old.dentist_id, connection)
        connection.principal = principal
        if principal is not None:
            self._by_user.setdefault(principal.user_id, {})[connection] = None
            if principal.dentist_id is not None:
                self._by_dentist.setdefault(principal.dentist_id, {})[connection] = None

    def connections_of(self, user_id: UUID) -> list[Connection]:
        """The sockets of one user."""
        return list(self._by_user.get(user_id, ()))

    # ------------------------------------------------------------------ subscriptions

    def subscribe(self, connection: Connection, spec: ChannelSpec, *, replay: bool) -> Subscription:
        """Add a subscription; its `skip_through` is the head it starts after.

        With `replay`, live events are held back until `go_live()`: every event up to the
        head is in the log for the replay, every later one is held — no gap, no overlap.
        """
        previous = connection.subscriptions.get(spec.channel)
        if previous is not None:
            self.unsubscribe(previous)
        subscription = Subscription(connection, spec, hold_limit=self.hold_limit)
        subscription.skip_through = self.head
        subscription.replaying = replay
        subscription.direct = not replay
        connection.subscriptions[spec.channel] = subscription
        self._topics.setdefault(spec.topic, {})[subscription] = None
        self.kind_counts[spec.kind] += 1
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Remove a subscription."""
        if not subscription.active:
            return
        subscription.active = False
        spec = subscription.spec
        connection = subscription.connection
        if connection.subscriptions.get(spec.channel) is subscription:
            del connection.subscriptions[spec.channel]
        _discard(self._topics, spec.topic, subscription)
        self.kind_counts[spec.kind] -= 1

    def subscriptions(self) -> Iterator[Subscription]:
        """Every subscription, socket by socket."""
        for connection in self.connections:
            yield from connection.subscriptions.values()

    @property
    def subscription_count(self) -> int:
        """How many subscriptions are open."""
        return sum(self.kind_counts.values())

    # ------------------------------------------------------------------ fan-out

    def start_at(self, seq: int) -> None:
        """The listener starts reading after `seq`: nothing before it is in memory."""
        self.head = seq
        self.recent_floor = seq
        self._recent.clear()
        self._recent_seqs.clear()
        self._recent_frames.clear()

    def recent_between(self, after: int, through: int, *, spec: ChannelSpec) -> RecentSlice | None:
        """The frames on `spec.channel` of the events in (after, through] visible on `spec`
        — the same rule as the log's replay query — or None when memory does not reach back
        to `after`. Each event is framed once per channel, whatever the number of replays."""
        if self.recent_floor is None or after < self.recent_floor:
            return None
        start = bisect.bisect_right(self._recent_seqs, after)
        stop = bisect.bisect_right(self._recent_seqs, through)
        tables = spec.tables
        dentist = None if spec.dentist_id is None else str(spec.dentist_id)
        patient = None if spec.patient_id is None else str(spec.patient_id)
        channel = spec.channel
        cached = self._recent_frames.setdefault(channel, {})
        seqs: list[int] = []
        frames: list[bytes] = []
        first: datetime | None = None
        for seq, table, dentist_id, patient_id, committed_at, rest, _ in self._recent[start:stop]:
            if (
                rest
                and table in tables
                and (dentist is None or dentist_id == dentist)
                and (patient is None or patient_id == patient)
            ):
                frame = cached.get(seq)
                if frame is None:
                    frame = cached[seq] = event_frame(channel, rest)
                seqs.append(seq)
                frames.append(frame)
                if first is None:
                    first = committed_at
        return RecentSlice(seqs, frames, first)

    def _remember(self, event: LogEvent, encoder: EventEncoder) -> None:
        revocation = event.revocation()
        rest = b""  # nothing to replay: an event no channel carries, or one that cannot render
        if event.routes():
            try:
                rest = encoder.rest()
            except Exception:
                log.exception("could not render realtime event %s", event.seq)
        self._recent.append(
            (
                event.seq,
                event.table,
                None if event.dentist_id is None else str(event.dentist_id),
                None if event.patient_id is None else str(event.patient_id),
                event.committed_at,
                rest,
                revocation,
            )
        )
        self._recent_seqs.append(event.seq)
        for channel, frame in encoder.frames.items():
            cached = self._recent_frames.get(channel)
            if cached is None:
                cached = self._recent_frames[channel] = {}
            cached[event.seq] = frame
        if len(self._recent) > 2 * self._recent_keep:
            drop = len(self._recent) - self._recent_keep
            floor = self.recent_floor = self._recent_seqs[drop - 1]
            del self._recent[:drop]
            del self._recent_seqs[:drop]
            for channel, cached in list(self._recent_frames.items()):
                kept = {seq: frame for seq, frame in cached.items() if seq > floor}
                if kept:
                    self._recent_frames[channel] = kept
                else:
                    del self._recent_frames[channel]

    def publish(self, events: Sequence[LogEvent]) -> None:
        """Deliver a batch of events (the next ones in commit order) to their subscribers.

        The cycle collector waits until the batch is written: what a batch allocates is freed
        by reference counting, and a pass in the middle of it would walk the outbox (a
        dictionary over up to every socket) for nothing.
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._publish(events)
        finally:
            if collecting:
                gc.enable()

    def _publish(self, events: Sequence[LogEvent]) -> None:
        outbox: Outbox | None = {} if len(events) > GATHER_FROM else None
        delivered_events: list[LogEvent] = []
        for event in events:
            encoder = EventEncoder(event)
            try:
                if self._route(event, encoder, outbox):
                    delivered_events.append(event)
            except Exception:
                log.exception("could not deliver realtime event %s", event.seq)
            self.head = event.seq
            if self.recent_floor is not None:
                self._remember(event, encoder)
        if outbox is not None:
            flush(outbox)
        self.events_received += len(events)
        now = time.time()
        for event in delivered_events:
            self.latency.add((now - event.committed_at.timestamp()) * 1000.0)

    def _route(self, event: LogEvent, encoder: EventEncoder, outbox: Outbox | None) -> int:
        """Queue one event for every subscriber of its topics; how many there were."""
        seq = event.seq
        delivered = 0
        for channel, topics in event.routes():
            frame: bytes | None = None
            for topic in topics:
                subscribers = self._topics.get(topic)
                if not subscribers:
                    continue
                if frame is None:
                    frame = encoder.frame_for(channel)
                # The hot loop (46,000 times a second in chain-10k): for a direct
                # subscription, one write, or one dictionary look-up when gathering.
                if outbox is None:
                    for subscription in subscribers:
                        if subscription.direct:
                            subscription.socket.write_frame(frame)
                        else:
                            subscription.deliver(seq, frame, None)
                else:
                    for subscription in subscribers:
                        if subscription.direct:
                            queue(outbox, subscription.socket, frame)
                        else:
                            subscription.deliver(seq, frame, outbox)
                delivered += len(subscribers)
        self.events_delivered += delivered
        if event.dentist_id is not None and event.removes_dentist():
            for connection in self._by_dentist.get(event.dentist_id, ()):
                connection.close(TOKEN_INVALID, "the dentist was removed")
        revocation = event.revocation()
        if revocation is not None:
            self.revoke(revocation)
        return delivered

    def revoke(self, revocation: Revocation) -> None:
        """Close (4001) the sockets a logout, disabling or token revocation refuses."""
        for connection in list(self._by_user.get(revocation.user_id, ())):
            if connection.principal is not None and revocation.covers(connection.principal):
                connection.close(TOKEN_INVALID, "this session is no longer valid; log in again")

    def revoked_since(self, seq: int, principal: Principal) -> bool:
        """Whether an event published after `seq` revokes `principal`: a token checked
        against the database while its revocation was on its way to this hub."""
        if self.recent_floor is None or seq < self.recent_floor:
            # Memory does not reach back (more than RECENT_EVENTS events during one token
            # check): nothing to look at, and the database's answer stands.
            return False
        start = bisect.bisect_right(self._recent_seqs, seq)
        for *_, revocation in self._recent[start:]:
            if revocation is not None and revocation.covers(principal):
                return True
        return False

    def close_all(self, code: int, reason: str) -> None:
        """Close every socket (server shutdown)."""
        for connection in self.connections:
            connection.close(code, reason)


K = TypeVar("K")
V = TypeVar("V")


def _discard(index: dict[K, dict[V, None]], key: K, value: V) -> None:
    members = index.get(key)
    if members is not None:
        members.pop(value, None)
        if not members:
            del index[key]
