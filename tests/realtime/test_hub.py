"""The hub's fan-out on its own (sockets that record what they are written): every socket
gets exactly its topics' events, once, in commit order, whether a batch is written event
by event or gathered per socket, with replays holding live events back; any `op` goes
through; and the events it remembers cost the cycle collector nothing."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from uuid import UUID, uuid4

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from dentalcare.realtime import protocol
from dentalcare.realtime.events import EventEncoder, LogEvent
from dentalcare.realtime.frames import frame_payload
from dentalcare.realtime.hub import GATHER_FROM, Connection, Hub
from dentalcare.realtime.wire import Socket

DENTISTS = [UUID(int=n + 1) for n in range(3)]


class RecordingSocket(Socket):
    """Keeps every write (one write may carry several frames)."""

    def __init__(self) -> None:
        self.writes: list[list[bytes]] = []
        self.collector_on: list[bool] = []  # whether the cycle collector could run, by write

    def write_frame(self, frame: bytes) -> None:
        self.writes.append([frame])
        self.collector_on.append(gc.isenabled())

    def write_frames(self, frames: list[bytes]) -> None:
        self.writes.append(list(frames))
        self.collector_on.append(gc.isenabled())

    async def send_frames(self, frames: list[bytes]) -> None:
        self.write_frames(frames)

    def close(self, code: int, reason: str = "") -> None:
        self.closed = True

    def seqs(self) -> list[int]:
        return [orjson.loads(frame_payload(f))["seq"] for w in self.writes for f in w]


def slot_event(seq: int, dentist: UUID, op: str = "TAKEN") -> LogEvent:
    return LogEvent(
        seq=seq,
        table="slots",
        op=op,
        record={"dentist_id": str(dentist), "date": "2033-01-01", "time": "09:00"},
        old_record=None,
        dentist_id=dentist,
        patient_id=None,
        committed_at=datetime.now(UTC),
    )


def connect(hub: Hub, channel: str, *, replay: bool = False) -> tuple[RecordingSocket, object]:
    connection = Connection(now=0.0)
    socket = RecordingSocket()
    connection.socket = socket
    spec = protocol.resolve_channel(channel, None)
    return socket, hub.subscribe(connection, spec, replay=replay)


def test_an_op_the_hub_does_not_know_is_delivered_like_any_other() -> None:
    hub = Hub(hold_limit=1 << 20)
    hub.start_at(0)
    dentist = DENTISTS[0]
    own, _ = connect(hub, f"availability:{dentist}")
    everyone, _ = connect(hub, "availability")
    ops = ["HELD", "RELEASED", "HELD", "TAKEN", "SOMETHING_NEW"]
    hub.publish([slot_event(n + 1, dentist, op) for n, op in enumerate(ops)])
    for socket, channel in ((own, f"availability:{dentist}"), (everyone, "availability")):
        messages = [orjson.loads(frame_payload(f)) for w in socket.writes for f in w]
        assert [m["op"] for m in messages] == ops
        assert {m["channel"] for m in messages} == {channel}
    assert hub.events_delivered == 2 * len(ops)


def test_a_large_batch_is_one_write_per_socket_and_a_small_one_a_write_per_event() -> None:
    hub = Hub(hold_limit=1 << 20)
    hub.start_at(0)
    socket, _ = connect(hub, f"availability:{DENTISTS[0]}")
    hub.publish([slot_event(n, DENTISTS[0]) for n in range(1, GATHER_FROM + 1)])
    assert [len(w) for w in socket.writes] == [1] * GATHER_FROM
    socket.writes.clear()
    hub.publish([slot_event(n, DENTISTS[0]) for n in range(100, 100 + 3 * GATHER_FROM)])
    assert [len(w) for w in socket.writes] == [3 * GATHER_FROM]


def test_no_collector_pass_runs_in_the_middle_of_a_batch() -> None:
    hub = Hub(hold_limit=1 << 20)
    hub.start_at(0)
    sockets = [connect(hub, f"availability:{DENTISTS[0]}")[0] for _ in range(50)]
    hub.publish([slot_event(n, DENTISTS[0]) for n in range(1, 3 * GATHER_FROM)])
    hub.publish([slot_event(n, DENTISTS[0]) for n in range(100, 102)])
    assert all(not on for socket in sockets for on in socket.collector_on)
    assert all(len(socket.collector_on) == 3 for socket in sockets)
    assert gc.isenabled()


def test_each_event_is_framed_once_per_channel_live_and_for_replays() -> None:
    hub = Hub(hold_limit=1 << 20)
    hub.start_at(0)
    channel = f"availability:{DENTISTS[0]}"
    a, _ = connect(hub, channel)
    b, _ = connect(hub, channel)
    event = slot_event(1, DENTISTS[0])
    hub.publish([event])
    assert a.writes[0][0] is b.writes[0][0]  # the same bytes object on both sockets
    spec = protocol.resolve_channel(channel, None)
    replayed = hub.recent_between(0, 1, spec=spec)
    assert replayed is not None and replayed.seqs == [1]
    assert replayed.frames[0] is a.writes[0][0]
    assert replayed.frames[0] == EventEncoder(event).frame_for(channel)


def test_the_remembered_events_are_not_tracked_by_the_cycle_collector() -> None:
    hub = Hub(hold_limit=1 << 20)
    hub.start_at(0)
    connect(hub, f"availability:{DENTISTS[0]}")
    hub.publish([slot_event(n, DENTISTS[n % 3]) for n in range(1, 200)])
    gc.collect()  # a pass untracks tuples and dicts that hold only untracked values
    recent = hub._recent
    assert len(recent) == 199
    assert not any(gc.is_tracked(entry) for entry in recent)


# What a socket subscribes to: a dentist's channel or the global one, and whether it
# starts with a replay (goes live after a given number of batches).
subscribers = st.lists(
    st.tuples(st.sampled_from([0, 1, 2, None]), st.one_of(st.none(), st.integers(0, 3))),
    min_size=1,
    max_size=6,
)
batches = st.lists(st.lists(st.integers(0, 2), min_size=1, max_size=12), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(subscribers=subscribers, batches=batches)
def test_every_socket_gets_its_topics_events_once_in_order(
    subscribers: list[tuple[int | None, int | None]], batches: list[list[int]]
) -> None:
    hub = Hub(hold_limit=1 << 20)
    hub.start_at(0)
    sockets = []
    for dentist, live_after in subscribers:
        channel = "availability" if dentist is None else f"availability:{DENTISTS[dentist]}"
        socket, subscription = connect(hub, channel, replay=live_after is not None)
        sockets.append((socket, dentist, live_after, subscription))
    seq = 0
    published: list[tuple[int, int]] = []
    for number, batch in enumerate(batches):
        events = []
        for dentist in batch:
            seq += 1
            events.append(slot_event(seq, DENTISTS[dentist]))
            published.append((seq, dentist))
        hub.publish(events)
        for _, _, live_after, subscription in sockets:
            if live_after == number:
                subscription.go_live()  # type: ignore[attr-defined]
    for _, _, live_after, subscription in sockets:
        if live_after is not None and live_after >= len(batches):
            subscription.go_live()  # type: ignore[attr-defined]
    for socket, dentist, _, _ in sockets:
        wanted = [s for s, d in published if dentist is None or d == dentist]
        assert socket.seqs() == wanted


def test_an_event_of_a_dentist_nobody_follows_writes_nothing() -> None:
    hub = Hub(hold_limit=1 << 20)
    hub.start_at(0)
    socket, _ = connect(hub, f"availability:{DENTISTS[0]}")
    hub.publish([slot_event(1, uuid4())])
    assert socket.writes == []
