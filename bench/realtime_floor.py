"""The floor of the realtime benchmark: a bare fan-out server on the same sockets.

uvloop, the WebSocket handshake and RFC 6455 framing, and nothing else: no application
logic, no database, no limits, no keepalive. It speaks just enough of the realtime protocol
for the benchmark's clients (`subscribe` → `subscribed`, `ping` → `pong`), keeps a list of
sockets per topic, and on the parent's `drive` makes the same changes the SQL driver makes
(bookings and ~10 % cancellations at R per second, round-robin over the dentists, for a
random connected patient): each change is two events, each event framed once per channel
and written to every socket of its topics, one write per socket and message. Its
commit→client latency is from the instant it makes an event to the client's receipt.

    parent → ("drive", rate, seconds, cancel_share)   child → ("driven", {...})
    parent → ("stop",)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
import signal
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import orjson

from bench.realtime_clients import raise_nofile_limit
from dentalcare.realtime.frames import text_frame

WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_TEXT, OP_CLOSE, OP_PING = 0x1, 0x8, 0x9


class Floor:
    """Sockets by topic; `token_topics` says which topic an `appointments` token reads."""

    def __init__(self, token_topics: dict[str, str]) -> None:
        self.token_topics = token_topics
        self.topics: dict[str, list[Peer]] = defaultdict(list)
        self.head = 0

    def fan_out(self, topics: tuple[str, ...], frame: bytes) -> int:
        """Write `frame` to every socket of `topics`; how many."""
        sent = 0
        for topic in topics:
            peers = self.topics.get(topic)
            if peers:
                for peer in peers:
                    peer.transport.write(frame)
                sent += len(peers)
        return sent


class Peer(asyncio.Protocol):
    """One client socket: the handshake, then masked client frames."""

    transport: asyncio.Transport

    def __init__(self, floor: Floor) -> None:
        self.floor = floor
        self.buffer = bytearray()
        self.open = False
        self.token_topic: str | None = None
        self.topics: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] # uvloop's: a Transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.open:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            request, self.buffer = bytes(self.buffer[:end]), self.buffer[end + 4 :]
            self._handshake(request)
        self._read_frames()

    def _handshake(self, request: bytes) -> None:
        lines = request.decode("latin-1").split("\r\n")
        target = lines[0].split(" ")[1]
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        key = {name.lower(): value for name, value in headers.items()}["sec-websocket-key"]
        accept = base64.b64encode(hashlib.sha1(key.encode() + WEBSOCKET_GUID).digest())
        token = parse_qs(urlsplit(target).query).get("token", [None])[0]
        self.token_topic = self.floor.token_topics.get(token) if token else None
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.open = True

    def _read_frames(self) -> None:
        buffer = self.buffer
        while len(buffer) >= 6:
            opcode, size, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if size == 126:
                if len(buffer) < 8:
                    return
                size, start = int.from_bytes(buffer[2:4], "big"), 4
            elif size == 127:
                self.transport.close()  # the protocol's client messages are small
                return
            if len(buffer) < start + 4 + size:
                return
            mask = buffer[start : start + 4]
            masked = buffer[start + 4 : start + 4 + size]
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(masked))
            del buffer[: start + 4 + size]
            if opcode == OP_TEXT:
                self._on_message(orjson.loads(payload))
            elif opcode == OP_CLOSE:
                self.transport.write(bytes((0x88, len(payload))) + payload)
                self.transport.close()
                return
            elif opcode == OP_PING:
                self.transport.write(bytes((0x8A, len(payload))) + payload)

    def _on_message(self, message: dict[str, Any]) -> None:
        if message.get("type") == "subscribe":
            channel = message["channel"]
            topic = self.token_topic if channel == "appointments" else channel
            if topic is not None:
                self.floor.topics[topic].append(self)
                self.topics.append(topic)
            reply = {"type": "subscribed", "ref": message.get("ref"), "channel": channel}
            self.transport.write(text_frame(orjson.dumps({**reply, "head": self.floor.head})))
        elif message.get("type") == "ping":
            self.transport.write(text_frame(b'{"type":"pong"}'))

    def connection_lost(self, exc: Exception | None) -> None:
        for topic in self.topics:
            peers = self.floor.topics.get(topic, [])
            if self in peers:
                peers.remove(self)


def appointment_record(number: int, dentist: str, patient: str, status: str) -> dict[str, Any]:
    """A record of the size and shape of the service's `appointment` JSON."""
    day = date.today() + timedelta(days=1 + number // 20)
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {
        "id": str(uuid4()),
        "booking_reference": f"DC-B{number:07d}",
        "patient_id": patient,
        "dentist_id": dentist,
        "dentist_name": None,
        "patient_name": "Patient 123",
        "patient_email": "patient-123@bench.example",
        "patient_phone": "+1 555 0100",
        "patient_age": None,
        "patient_medical_conditions": None,
        "appointment_date": day.isoformat(),
        "appointment_time": "10:30",
        "duration_minutes": 30,
        "starts_at": f"{day.isoformat()}T10:30:00Z",
        "ends_at": f"{day.isoformat()}T11:00:00Z",
        "status": status,
        "booking_source": "manual",
        "chief_complaint": None,
        "symptoms": None,
        "urgency": None,
        "medical_history": None,
        "medications": None,
        "allergies": None,
        "notes": None,
        "payment_method": None,
        "payment_status": "unpaid",
        "payment_amount": None,
        "cancellation_reason": "bench" if status == "cancelled" else None,
        "created_at": now,
        "updated_at": now,
        "confirmed_at": None,
        "cancelled_at": now if status == "cancelled" else None,
        "completed_at": None,
    }


class FloorDriver:
    """The SQL driver's changes, made in memory at `rate` per second."""

    def __init__(self, floor: Floor, plan: dict[str, Any], seed: int = 20260) -> None:
        self.floor = floor
        self.dentists: list[str] = plan["dentists"]
        self.patients: list[str] = plan["patients"]
        self.rng = random.Random(seed)
        self.number = 0
        self.active: list[tuple[int, str, str]] = []

    def _event(self, channel: str, table: str, op: str, record: dict[str, Any]) -> bytes:
        body = {
            "type": "event",
            "channel": channel,
            "seq": self.floor.head,
            "table": table,
            "op": op,
            "record": record,
            "old_record": None,
            "committed_at": datetime.now(UTC).isoformat(),
        }
        return text_frame(orjson.dumps(body))

    def change(self, cancel_share: float, expected: dict[str, list[int]]) -> None:
        """One booking or cancellation: its two events, fanned out."""
        number = self.number
        self.number += 1
        if self.active and self.rng.random() < cancel_share:
            number, dentist, patient = self.active.pop(self.rng.randrange(len(self.active)))
            op, status, slot_op = "UPDATE", "cancelled", "RELEASED"
        else:
            dentist = self.dentists[number % len(self.dentists)]
            patient = self.patients[self.rng.randrange(len(self.patients))]
            self.active.append((number, dentist, patient))
            op, status, slot_op = "INSERT", "pending", "TAKEN"
        floor = self.floor
        floor.head += 1
        record = appointment_record(number, dentist, patient, status)
        topics = ("admin", f"dentist:{dentist}", f"patient:{patient}")
        floor.fan_out(topics, self._event("appointments", "appointments", op, record))
        for topic in topics:
            expected[topic].append(floor.head)
        floor.head += 1
        channel = f"availability:{dentist}"
        slot = {"dentist_id": dentist, "date": record["appointment_date"], "time": "10:30"}
        floor.fan_out((channel,), self._event(channel, "slots", slot_op, slot))
        expected[channel].append(floor.head)

    async def drive(self, rate: float, seconds: float, cancel_share: float) -> dict[str, Any]:
        """Changes at `rate` for `seconds`; what each topic had to receive."""
        loop = asyncio.get_running_loop()
        expected: dict[str, list[int]] = defaultdict(list)
        start = loop.time()
        made = 0
        max_lag = 0.0
        while True:
            due = start + made / rate
            if due >= start + seconds:
                break
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            max_lag = max(max_lag, loop.time() - due)
            self.change(cancel_share, expected)
            made += 1
        return {
            "expected": dict(expected),
            "changes": made,
            "seconds": loop.time() - start,
            "max_lag_ms": round(max_lag * 1000, 1),
        }


async def serve(pipe: Connection, config: dict[str, Any]) -> None:
    """Listen on the configured port, then drive when the parent says."""
    floor = Floor(config["token_topics"])
    driver = FloorDriver(floor, config["plan"])
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Peer(floor), "127.0.0.1", config["port"], backlog=4096, reuse_address=True
    )
    pipe.send(("listening", {"port": config["port"]}))
    try:
        while True:
            command = await asyncio.to_thread(pipe.recv)
            if command[0] == "stop":
                break
            if command[0] == "drive":
                _, rate, seconds, cancel_share = command
                pipe.send(("driven", await driver.drive(rate, seconds, cancel_share)))
    finally:
        server.close()


def main(pipe: Connection, config: dict[str, Any]) -> None:
    """Process entry point (multiprocessing target)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_nofile_limit()
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(pipe, config))
    pipe.close()
