"""`RealtimeSyncClient`: the sync service's API on the `/api/realtime` WebSocket.

One socket carries every subscription. The client remembers, per channel, the `seq` of
the last event it delivered; when the socket drops (server restart, network, 4008 "too
slow") it reconnects with exponential backoff and jitter and resubscribes each channel
with `since` = that seq, so the server replays exactly what was missed. Events at or below
the last seq are dropped, so nothing is applied twice. When the server no longer has the
history (`reset`), `on_reset(channel)` tells the application to refetch over REST.

Callbacks run in order, one at a time, on the task that reads the socket, and may be
plain functions or coroutine functions; an exception in one is logged and passed to the
subscription's `on_error` without stopping the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit
from uuid import UUID

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from dentalcare.client.backoff import Backoff
from dentalcare.client.callbacks import Callback, invoke
from dentalcare.client.events import TOKEN_INVALID, RealtimeError, RealtimeEvent, token_claims
from dentalcare.client.subscriptions import (
    Channel,
    EventHandler,
    Subscription,
    appointment_filter,
    appointment_handler,
    availability_channel,
    change_handler,
)

log = logging.getLogger("dentalcare.client")

APPOINTMENTS = "appointments"
GLOBAL_AVAILABILITY = "availability"
DENTISTS = "dentists"
CONNECT_ERRORS = (OSError, TimeoutError, InvalidHandshake, InvalidURI)


def realtime_url(base_url: str) -> str:
    """The WebSocket URL of `/api/realtime` for an `http(s)://` or `ws(s)://` base URL."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise ValueError(f"use an http(s):// or ws(s):// base URL, not {base_url!r}")
    path = parts.path.rstrip("/") + "/api/realtime"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


@dataclass(slots=True)
class _Request:
    """A message awaiting its reply (matched by `ref`)."""

    kind: str
    channel: str | None
    since: int | None
    reply: asyncio.Future[dict[str, Any]]


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a failure as seen, so an un-awaited future does not warn when collected."""
    if not future.cancelled():
        future.exception()


class RealtimeSyncClient:
    """Live appointment, availability and dentist changes, resumable across reconnects."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        on_reset: Callback | None = None,
        on_error: Callback | None = None,
        on_connect: Callback | None = None,
        on_disconnect: Callback | None = None,
        backoff: Backoff | None = None,
        request_timeout: float = 10.0,
        open_timeout: float = 10.0,
        connect_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.url = realtime_url(base_url)
        self._token = token
        self._on_reset = on_reset
        self._on_error = on_error
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._backoff = backoff or Backoff()
        self._request_timeout = request_timeout
        self._open_timeout = open_timeout
        self._connect_options = dict(connect_options or {})
        self._channels: dict[str, Channel] = {}
        self._requests: dict[str, _Request] = {}
        self._refs = 0
        # One entry per `ping` sent on the current socket, answered in order by `pong`s.
        self._pings: deque[asyncio.Future[None] | None] = deque()
        self._ws: ClientConnection | None = None
        self._runner: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._first: asyncio.Future[None] | None = None
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()  # set by close() and set_token(): stop waiting
        self._needs_token = False
        self._closing = False
        self._last_heard = 0.0
        self.connection_count = 0  # sockets opened so far (1 + reconnects)
        self.pongs_received = 0
        self.last_close_code: int | None = None

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Open the socket and (re)subscribe every registered channel; raises RealtimeError
        or OSError if the first attempt fails (then nothing is left running)."""
        if self._runner is not None and not self._runner.done():
            return
        self._closing = False
        self._needs_token = False
        ws = await self._open()
        self._first = asyncio.get_running_loop().create_future()
        self._first.add_done_callback(_retrieve)
        self._runner = asyncio.create_task(self._supervise(ws), name="realtime-sync-client")
        try:
            async with asyncio.timeout(self._request_timeout + self._open_timeout):
                await asyncio.shield(self._first)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the socket and stop reconnecting (subscriptions stay registered, so a later
        `connect()` resumes them from where they were)."""
        self._closing = True
        self.stop_heartbeat()
        self._wake.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        runner, self._runner = self._runner, None
        if runner is not None and not runner.done():
            try:
                async with asyncio.timeout(self._request_timeout):
                    await asyncio.shield(runner)
            except TimeoutError:
                runner.cancel()
            except Exception as exc:  # the supervisor logs its own failures
                log.debug("realtime client supervisor ended with %r", exc)

    async def __aenter__(self) -> RealtimeSyncClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        """Whether the socket is open and every channel has been (re)subscribed."""
        return self._ready.is_set()

    @property
    def token(self) -> str | None:
        """The access token used for the next (re)connection."""
        return self._token

    @property
    def waiting_for_token(self) -> bool:
        """Whether the server refused the token (4001) and the client waits for `set_token`."""
        return self._needs_token

    def positions(self) -> dict[str, int | None]:
        """The last `seq` delivered on each channel (what a reconnect sends as `since`)."""
        return {name: channel.last_seq for name, channel in self._channels.items()}

    # ------------------------------------------------------------------ subscriptions

    async def subscribe_to_appointments(
        self,
        user_id: UUID | str,
        role: str,
        *,
        on_created: Callback | None = None,
        on_updated: Callback | None = None,
        on_deleted: Callback | None = None,
        on_error: Callback | None = None,
    ) -> Subscription:
        """Follow one user's appointments (`role` patient or dentist; admin: every one)."""
        subject = token_claims(self._token).get("sub")
        accept = appointment_filter(user_id, role, subject)
        name = "appointments:all" if role == "admin" else f"appointments:{role}:{user_id}"
        handler = appointment_handler(
            on_created=on_created, on_updated=on_updated, on_deleted=on_deleted, accept=accept
        )
        return await self._subscribe(APPOINTMENTS, name, handler, on_error)

    async def subscribe_to_all_appointments(
        self,
        *,
        on_created: Callback | None = None,
        on_updated: Callback | None = None,
        on_deleted: Callback | None = None,
        on_error: Callback | None = None,
    ) -> Subscription:
        """Follow every appointment of the clinic (admins only)."""
        role = token_claims(self._token).get("role")
        if role != "admin":
            raise RealtimeError("Forbidden", "Only an admin's token may follow every appointment.")
        handler = appointment_handler(
            on_created=on_created, on_updated=on_updated, on_deleted=on_deleted
        )
        return await self._subscribe(APPOINTMENTS, "appointments:all", handler, on_error)

    async def subscribe_to_availability(
        self,
        dentist_id: UUID | str,
        *,
        on_changed: Callback | None = None,
        on_error: Callback | None = None,
    ) -> Subscription:
        """Follow one dentist's schedule and slot changes; `on_changed(event)`."""
        channel = availability_channel(dentist_id)
        return await self._subscribe(channel, channel, change_handler(on_changed), on_error)

    async def subscribe_to_global_availability(
        self, *, on_changed: Callback | None = None, on_error: Callback | None = None
    ) -> Subscription:
        """Follow the schedule and slot changes of every dentist; `on_changed(event)`."""
        return await self._subscribe(
            GLOBAL_AVAILABILITY, GLOBAL_AVAILABILITY, change_handler(on_changed), on_error
        )

    async def subscribe_to_dentists(
        self, *, on_changed: Callback | None = None, on_error: Callback | None = None
    ) -> Subscription:
        """Follow dentists being created, updated and removed; `on_changed(event)`."""
        return await self._subscribe(DENTISTS, DENTISTS, change_handler(on_changed), on_error)

    def get_active_subscriptions(self) -> list[Subscription]:
        """Every subscription made and not yet unsubscribed."""
        return [sub for channel in self._channels.values() for sub in channel.subscriptions]

    def get_active_subscriptions_count(self) -> int:
        """How many subscriptions are active."""
        return sum(len(channel.subscriptions) for channel in self._channels.values())

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Stop one subscription at once; the channel is left when its last one goes."""
        if not subscription.active:
            return
        subscription.active = False
        channel = self._channels.get(subscription.channel)
        if channel is None or subscription not in channel.subscriptions:
            return
        channel.subscriptions.remove(subscription)
        if channel.subscriptions:
            return
        del self._channels[channel.name]
        if not channel.ready.done():
            channel.ready.cancel()
        if self._ws is not None:
            with contextlib.suppress(RealtimeError, TimeoutError):
                await self._request({"type": "unsubscribe", "channel": channel.name})

    async def unsubscribe_all(self) -> None:
        """Stop every subscription."""
        for subscription in self.get_active_subscriptions():
            await self.unsubscribe(subscription)

    # ------------------------------------------------------------------ token, heartbeat

    async def set_token(self, token: str) -> None:
        """Use a new access token: sent at once as `auth` (extending the socket's life),
        then used for every reconnection; after a 4001 close it makes the client reconnect.
        A token the server refuses raises RealtimeError and is not kept."""
        if self._needs_token or self._ws is None:
            self._token = token
            if self._needs_token:
                self._needs_token = False
                self._wake.set()
            return
        try:
            await self._request({"type": "auth", "token": token})
        except RealtimeError as exc:
            if exc.code == TOKEN_INVALID:
                raise RealtimeError("Unauthorized", "The server refused the token.") from exc
            raise
        self._token = token

    async def ping(self) -> float:
        """Round trip of one `ping`, in seconds. The server answers in order, after every
        event it had already sent on this socket."""
        ws = self._ws
        if ws is None:
            raise RealtimeError("ConnectionLost", "not connected")
        loop = asyncio.get_running_loop()
        pong: asyncio.Future[None] = loop.create_future()
        pong.add_done_callback(_retrieve)
        started = loop.time()
        await self._send_ping(ws, pong)
        async with asyncio.timeout(self._request_timeout):
            await asyncio.shield(pong)
        return loop.time() - started

    async def _send_ping(self, ws: ClientConnection, pong: asyncio.Future[None] | None) -> None:
        self._pings.append(pong)
        try:
            await self._send(ws, {"type": "ping"})
        except ConnectionClosed as exc:
            raise RealtimeError("ConnectionLost", "the socket closed", code=ws.close_code) from exc

    def start_heartbeat(self, seconds: float = 30.0) -> None:
        """Send `ping` every `seconds`; a socket silent for three periods is dropped and
        reconnected (the server also closes sockets silent for 90 s)."""
        if seconds <= 0:
            raise ValueError("the heartbeat period must be positive")
        self.stop_heartbeat()
        self._heartbeat = asyncio.create_task(self._beat(seconds), name="realtime-heartbeat")

    def stop_heartbeat(self) -> None:
        """Stop sending heartbeats."""
        task, self._heartbeat = self._heartbeat, None
        if task is not None:
            task.cancel()

    async def _beat(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        dead_after = 3 * seconds + 1.0
        while True:
            await asyncio.sleep(seconds)
            ws = self._ws
            if ws is None or not self._ready.is_set():
                continue
            if loop.time() - self._last_heard > dead_after:
                log.warning("realtime socket silent for %.1f s: reconnecting", dead_after)
                ws.transport.abort()
                continue
            with contextlib.suppress(RealtimeError):
                await self._send_ping(ws, None)

    # ------------------------------------------------------------------ the connection

    async def _open(self) -> ClientConnection:
        url = self.url
        if self._token:
            url += "?" + urlencode({"token": self._token})
        options: dict[str, Any] = {
            "open_timeout": self._open_timeout,
            "close_timeout": 2,
            "compression": None,  # the server sends plain frames
            **self._connect_options,
        }
        ws = await ws_connect(url, **options)
        self._last_heard = asyncio.get_running_loop().time()
        return ws

    async def _supervise(self, ws: ClientConnection | None) -> None:
        """Serve the socket; when it drops, reconnect with backoff until `close()`."""
        attempt = 0
        while not self._closing:
            if ws is None:
                self._wake.clear()
                if self._needs_token:
                    await self._wake.wait()
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._backoff.delay(attempt)):
                        await self._wake.wait()
                attempt += 1
                if self._closing:
                    break
                try:
                    ws = await self._open()
                except CONNECT_ERRORS as exc:
                    log.info("realtime reconnect attempt %d failed: %r", attempt, exc)
                    continue
            became_ready = await self._serve(ws)
            if became_ready:
                attempt = 0
            code = ws.close_code
            self.last_close_code = code
            ws = None
            if self._closing:
                break
            log.info("realtime socket closed (%s); reconnecting with since", code)
            await self._notify(self._on_disconnect, code)
            if code == TOKEN_INVALID:
                self._needs_token = True
                error = RealtimeError(
                    "Unauthorized", "The access token is invalid or expired.", code=code
                )
                await self._fail_everyone(error)

    async def _serve(self, ws: ClientConnection) -> bool:
        """Read `ws` until it closes; whether it got as far as resubscribing everything."""
        self._ws = ws
        self.connection_count += 1
        self._reader = reader = asyncio.create_task(self._read(ws), name="realtime-reader")
        ready = False
        try:
            await self._resubscribe_all(ws)
            ready = True
            self._ready.set()
            if self._first is not None and not self._first.done():
                self._first.set_result(None)
            await self._notify(self._on_connect)
            await reader
        except (ConnectionClosed, RealtimeError, TimeoutError) as exc:
            log.debug("realtime session ended: %r", exc)
        finally:
            self._ready.clear()
            if not reader.done():
                with contextlib.suppress(Exception):
                    await ws.close()
                reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            self._ws = None
            self._reader = None
            self._fail_requests(ws.close_code)
            if self._first is not None and not self._first.done():
                code = ws.close_code
                error = (
                    RealtimeError("Unauthorized", "The server refused the token.", code=code)
                    if code == TOKEN_INVALID
                    else RealtimeError("ConnectionLost", f"closed with {code}", code=code)
                )
                self._first.set_exception(error)
        return ready

    async def _resubscribe_all(self, ws: ClientConnection) -> None:
        """Subscribe every channel on the new socket, resuming each after its last seq."""
        waits = [self._send_subscribe(channel) for channel in list(self._channels.values())]
        results = await asyncio.gather(*waits, return_exceptions=True)
        for result in results:
            if isinstance(result, ConnectionClosed | TimeoutError):
                raise result
            if isinstance(result, RealtimeError) and result.error == "ConnectionLost":
                raise result
            # An `error` reply was handled where it arrived (the channel is dropped).

    async def _send_subscribe(self, channel: Channel, *, wait: bool = True) -> None:
        message: dict[str, Any] = {"type": "subscribe", "channel": channel.name}
        if channel.last_seq is not None:
            message["since"] = channel.last_seq
        await self._request(message, wait=wait)

    async def _read(self, ws: ClientConnection) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                raw = await ws.recv()
            except ConnectionClosed:
                return
            self._last_heard = loop.time()
            try:
                message = orjson.loads(raw)
            except orjson.JSONDecodeError:
                log.warning("realtime: ignoring a frame that is not JSON")
                continue
            if isinstance(message, dict):
                await self._dispatch(ws, message)

    # ------------------------------------------------------------------ requests

    async def _send(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        await ws.send(orjson.dumps(message).decode())

    async def _request(self, message: dict[str, Any], *, wait: bool = True) -> dict[str, Any]:
        """Send a message with a fresh `ref`; its reply (waited for unless not `wait` or
        called from a callback, which runs on the reading task and would wait for itself)."""
        ws = self._ws
        if ws is None:
            raise RealtimeError("ConnectionLost", "not connected")
        self._refs += 1
        ref = str(self._refs)
        loop = asyncio.get_running_loop()
        request = _Request(
            message["type"], message.get("channel"), message.get("since"), loop.create_future()
        )
        request.reply.add_done_callback(_retrieve)
        self._requests[ref] = request
        try:
            await self._send(ws, {**message, "ref": ref})
        except ConnectionClosed as exc:
            self._requests.pop(ref, None)
            raise RealtimeError("ConnectionLost", "the socket closed", code=ws.close_code) from exc
        if not wait or asyncio.current_task() is self._reader:
            return {}
        async with asyncio.timeout(self._request_timeout):
            return await asyncio.shield(request.reply)

    def _fail_requests(self, code: int | None) -> None:
        pings, self._pings = self._pings, deque()
        for pong in pings:
            if pong is not None and not pong.done():
                pong.set_exception(RealtimeError("ConnectionLost", f"closed with {code}"))
        requests, self._requests = self._requests, {}
        for request in requests.values():
            if not request.reply.done():
                request.reply.set_exception(
                    RealtimeError("ConnectionLost", f"closed with {code}", code=code)
                )

    async def _subscribe(
        self, channel_name: str, name: str, handler: EventHandler, on_error: Callback | None
    ) -> Subscription:
        subscription = Subscription(
            channel=channel_name, name=name, handle=handler, on_error=on_error
        )
        channel = self._channels.get(channel_name)
        if channel is None:
            channel = Channel(channel_name)
            channel.ready.add_done_callback(_retrieve)
            self._channels[channel_name] = channel
            channel.subscriptions.append(subscription)
            if self._ws is None:
                return subscription  # subscribed by connect()
            # (A resubscription in progress took its list of channels before this one.)
            with contextlib.suppress(RealtimeError):  # dropped: the reconnect subscribes it
                await self._send_subscribe(channel, wait=False)
        else:
            channel.subscriptions.append(subscription)
        if asyncio.current_task() is self._reader or self._ws is None:
            return subscription
        try:
            async with asyncio.timeout(self._request_timeout):
                await asyncio.shield(channel.ready)
        except BaseException:
            await self.unsubscribe(subscription)
            raise
        return subscription

    # ------------------------------------------------------------------ server messages

    async def _dispatch(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "event":
            await self._on_event(message)
        elif kind == "subscribed":
            self._on_subscribed(message)
        elif kind == "reset":
            await self._on_reset_message(message)
        elif kind == "error":
            await self._on_error_message(message)
        elif kind == "ping":
            with contextlib.suppress(ConnectionClosed):
                await self._send(ws, {"type": "pong"})
        elif kind == "pong":
            self.pongs_received += 1
            if self._pings:
                pong = self._pings.popleft()
                if pong is not None and not pong.done():
                    pong.set_result(None)
        elif kind in ("unsubscribed", "authenticated"):
            request = self._requests.pop(str(message.get("ref")), None)
            if request is not None and not request.reply.done():
                request.reply.set_result(message)

    async def _on_event(self, message: dict[str, Any]) -> None:
        channel = self._channels.get(message.get("channel", ""))
        if channel is None:
            return  # unsubscribed meanwhile
        seq = message["seq"]
        if channel.last_seq is not None and seq <= channel.last_seq:
            channel.duplicates_dropped += 1
            return
        channel.last_seq = seq
        event = RealtimeEvent.from_message(message)
        for subscription in list(channel.subscriptions):
            if not subscription.active:
                continue
            try:
                await subscription.handle(event)
            except Exception as exc:
                log.exception("realtime callback failed on %s seq %s", channel.name, seq)
                await self._notify(subscription.fail, exc)

    def _on_subscribed(self, message: dict[str, Any]) -> None:
        request = self._requests.pop(str(message.get("ref")), None)
        channel = self._channels.get(message.get("channel", ""))
        if channel is not None:
            head = int(message.get("head") or 0)
            channel.head = head
            if request is None or request.since is None:
                # A fresh subscription starts after the head; a resumed one keeps its seq
                # so that the replay of (since, head] is not mistaken for duplicates.
                channel.last_seq = max(channel.last_seq or 0, head)
            if not channel.ready.done():
                channel.ready.set_result(None)
        if request is not None and not request.reply.done():
            request.reply.set_result(message)

    async def _on_reset_message(self, message: dict[str, Any]) -> None:
        channel = self._channels.get(message.get("channel", ""))
        if channel is None:
            return
        # The history before `since` is gone: live events continue after the head, which
        # may be *below* our last seq (a database restored from an older backup).
        channel.last_seq = channel.head
        log.warning("realtime history expired on %s: refetch over REST", channel.name)
        await self._notify(self._on_reset, channel.name)

    async def _on_error_message(self, message: dict[str, Any]) -> None:
        error = RealtimeError(str(message.get("error")), str(message.get("detail") or ""))
        request = self._requests.pop(str(message.get("ref")), None)
        if request is None:
            await self._notify(self._on_error, error)
            return
        if not request.reply.done():
            request.reply.set_exception(error)
        if request.kind != "subscribe" or request.channel is None:
            return
        channel = self._channels.pop(request.channel, None)
        if channel is None:
            return
        waiting = not channel.ready.done()
        if waiting:
            channel.ready.set_exception(error)
        for subscription in channel.subscriptions:
            subscription.active = False
            if not waiting:  # a resubscription was refused: nobody else will hear of it
                await self._notify(subscription.fail, error)
        channel.subscriptions.clear()

    async def _fail_everyone(self, error: RealtimeError) -> None:
        await self._notify(self._on_error, error)
        for subscription in self.get_active_subscriptions():
            await self._notify(subscription.fail, error)

    async def _notify(self, callback: Callback | None, *args: Any) -> None:
        if callback is None:
            return
        try:
            await invoke(callback, *args)
        except Exception:
            log.exception("realtime client callback %r failed", callback)
