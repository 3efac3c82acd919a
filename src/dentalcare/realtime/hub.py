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
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from dentalcare.auth.tokens import Principal
from dentalcare.clock import Timer
from dentalcare.realtime.events import Encoded, EventEncoder, LogEvent, Revocation
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
        self.held: list[tuple[int, Encoded]] = []
        self.held_bytes = 0
        self.hold_limit = hold_limit

    def deliver(self, seq: int, message: Encoded, outbox: Outbox) -> None:
        """A live event on this subscription's topic."""
        if self.replaying:
            self.held.append((seq, message))
            self.held_bytes += len(message.payload)
            if self.held_bytes > self.hold_limit:
                self.connection.too_slow()
        elif seq > self.skip_through:
            outbox.add(self.socket, message)

    def go_live(self) -> None:
        """Send the held-back events the replay did not cover, then deliver directly."""
        for seq, message in self.held:
            if seq > self.skip_through:
                self.socket.push(message)
        self.held = []
        self.held_bytes = 0
        self.replaying = False


class Outbox:
    """The frames of one batch of events, gathered per socket and written once per socket.

    A quiet moment's batch is one transaction's events; under load batches grow, and one
    write (one system call) per socket carries several of them.
    """

    __slots__ = ("_messages",)

    def __init__(self) -> None:
        self._messages: dict[Socket, list[Encoded]] = {}

    def add(self, socket: Socket, message: Encoded) -> None:
        """Queue `message` for `socket`, after those already queued for it."""
        queued = self._messages.get(socket)
        if queued is None:
            self._messages[socket] = [message]
        else:
            queued.append(message)

    def flush(self) -> None:
        """Write everything gathered."""
        for socket, messages in self._messages.items():
            socket.push_many(messages)
        self._messages.clear()


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
        self._recent: list[LogEvent] = []
        self._recent_seqs: list[int] = []
        self._recent_keep = recent_events
        self.connections: dict[Connection, None] = {}
        self._topics: dict[str, dict[Subscription, None]] = {}
        self._by_user: dict[UUID, dict[Connection, None]] = {}
        self._by_dentist: dict[UUID, dict[Connection, None]] = {}
        self.kind_counts = dict.fromkeys(KINDS, 0)
        self.events_received = 0
        self.events_delivered = 0
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
        self.connections.pop(connection, None)

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

    def recent_between(
        self, after: int, through: int, *, spec: ChannelSpec
    ) -> list[LogEvent] | None:
        """The events in (after, through] visible on `spec` — the same rule as the log's
        replay query — or None when memory does not reach back to `after`."""
        if self.recent_floor is None or after < self.recent_floor:
            return None
        start = bisect.bisect_right(self._recent_seqs, after)
        stop = bisect.bisect_right(self._recent_seqs, through)
        return [
            event
            for event in self._recent[start:stop]
            if event.table in spec.tables
            and (spec.dentist_id is None or event.dentist_id == spec.dentist_id)
            and (spec.patient_id is None or event.patient_id == spec.patient_id)
        ]

    def _remember(self, event: LogEvent) -> None:
        self._recent.append(event)
        self._recent_seqs.append(event.seq)
        if len(self._recent) > 2 * self._recent_keep:
            drop = len(self._recent) - self._recent_keep
            self.recent_floor = self._recent_seqs[drop - 1]
            del self._recent[:drop]
            del self._recent_seqs[:drop]

    def publish(self, events: Sequence[LogEvent]) -> None:
        """Deliver a batch of events (the next ones in commit order) to their subscribers."""
        outbox = Outbox()
        delivered_events: list[LogEvent] = []
        for event in events:
            try:
                if self._route(event, outbox):
                    delivered_events.append(event)
            except Exception:
                log.exception("could not deliver realtime event %s", event.seq)
            self.head = event.seq
            if self.recent_floor is not None:
                self._remember(event)
        outbox.flush()
        self.events_received += len(events)
        now = time.time()
        for event in delivered_events:
            self.latency.add((now - event.committed_at.timestamp()) * 1000.0)

    def _route(self, event: LogEvent, outbox: Outbox) -> int:
        """Queue one event for every subscriber of its topics; how many there were."""
        encoder = EventEncoder(event)
        seq = event.seq
        delivered = 0
        for channel, topics in event.routes():
            message: Encoded | None = None
            for topic in topics:
                subscribers = self._topics.get(topic)
                if not subscribers:
                    continue
                if message is None:
                    message = encoder.for_channel(channel)
                for subscription in subscribers:
                    subscription.deliver(seq, message, outbox)
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
        for event in self._recent[start:]:
            revocation = event.revocation()
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
