"""`RealtimeSyncClient`: the sync service's API on the `/api/realtime` WebSocket.

One socket carries every subscription. The client remembers, per channel, the `seq` of
the last event it delivered; when the socket drops (server restart, network, 4008 "too
slow") it reconnects with exponential backoff and jitter and resubscribes each channel
with `since` = that seq, so the server replays exactly what was missed. Events at or below
the last seq are dropped, so nothing is applied twice. When the server no longer has the
history (`reset`), `on_reset(channel)` tells the application to refetch over REST. After
a 4001 (token invalid or expired) it waits for `set_token()` instead of retrying; after a
4029 (too many messages or sockets) it waits a few seconds at least before reconnecting.

Callbacks run in order, one at a time, on the task that reads the socket, and may be
plain functions or coroutine functions; an exception in one is logged and passed to the
subscription's `on_error` without stopping the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from uuid import UUID

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from dentalcare.client.backoff import Backoff
from dentalcare.client.callbacks import Callback, notify
from dentalcare.client.channels import Channels
from dentalcare.client.events import RATE_LIMITED, TOKEN_INVALID, RealtimeError, token_claims
from dentalcare.client.link import CONNECT_ERRORS, Link, open_socket, realtime_url, retrieve
from dentalcare.client.subscriptions import (
    EventHandler,
    Subscription,
    appointment_filter,
    appointment_handler,
    availability_channel,
    change_handler,
)

log = logging.getLogger("dentalcare.client")

# After a 4029 the next reconnect waits at least this attempt's delay (2-4 s by default).
RATE_LIMITED_ATTEMPT = 3

APPOINTMENTS = "appointments"
GLOBAL_AVAILABILITY = "availability"
DENTISTS = "dentists"
WAITLIST = "waitlist"
MESSAGES = "messages"

__all__ = ["RealtimeSyncClient", "realtime_url"]


class RealtimeSyncClient:
    """Live appointment, availability, dentist, waitlist and message changes, resumable
    across reconnects."""

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
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._backoff = backoff or Backoff()
        self._request_timeout = request_timeout
        self._open_timeout = open_timeout
        self._connect_options = dict(connect_options or {})
        self._link = Link(request_timeout=request_timeout)
        self._channels = Channels(self._link, on_reset=on_reset, on_error=on_error)
        self._runner: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._first: asyncio.Future[None] | None = None
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()  # set by close() and set_token(): stop waiting
        self._needs_token = False
        self._closing = False
        self._last_heard = 0.0
        self.connection_count = 0  # sockets opened so far (1 + reconnects)
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
        self._first.add_done_callback(retrieve)
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
        self._channels.forget_deferred()
        self._wake.set()
        ws = self._link.ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        runner, self._runner = self._runner, None
        if self._link.on_reader():
            return  # called from a callback: the supervisor ends once this callback returns
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

    @property
    def pongs_received(self) -> int:
        """How many `pong`s arrived (heartbeats and `ping()`s answered)."""
        return self._link.pongs_received

    def positions(self) -> dict[str, int | None]:
        """The last `seq` delivered on each channel (what a reconnect sends as `since`)."""
        return {name: channel.last_seq for name, channel in self._channels.by_name.items()}

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

    async def subscribe_to_waitlist(
        self, *, on_changed: Callback | None = None, on_error: Callback | None = None
    ) -> Subscription:
        """Follow waitlist entries and offers: every one for staff, a patient's own entries
        and the offers made to them; `on_changed(event)`, the record saying its `kind`
        ("entry" or "offer"), `entry_id`, `status` and the row itself."""
        return await self._subscribe(WAITLIST, WAITLIST, change_handler(on_changed), on_error)

    async def subscribe_to_messages(
        self, *, on_changed: Callback | None = None, on_error: Callback | None = None
    ) -> Subscription:
        """Follow the status of appointments' messages (sent, failed, cancelled, retried):
        staff every appointment's, a dentist their own appointments'; `on_changed(event)`,
        the record being API.md's `message`."""
        return await self._subscribe(MESSAGES, MESSAGES, change_handler(on_changed), on_error)

    def get_active_subscriptions(self) -> list[Subscription]:
        """Every subscription made and not yet unsubscribed."""
        return self._channels.subscriptions()

    def get_active_subscriptions_count(self) -> int:
        """How many subscriptions are active."""
        return len(self._channels.subscriptions())

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Stop one subscription at once; the channel is left when its last one goes."""
        if not subscription.active:
            return
        subscription.active = False
        emptied = self._channels.remove(subscription)
        if emptied is not None and self._link.ws is not None:
            with contextlib.suppress(RealtimeError, TimeoutError):
                await self._link.request({"type": "unsubscribe", "channel": emptied.name})

    async def unsubscribe_all(self) -> None:
        """Stop every subscription."""
        for subscription in self.get_active_subscriptions():
            await self.unsubscribe(subscription)

    # ------------------------------------------------------------------ token, heartbeat

    async def set_token(self, token: str) -> None:
        """Use a new access token: sent at once as `auth` (extending the socket's life),
        then used for every reconnection; after a 4001 close it makes the client reconnect.
        A token the server refuses raises RealtimeError and is not kept."""
        if self._needs_token or self._link.ws is None:
            self._token = token
            if self._needs_token:
                self._needs_token = False
                self._wake.set()
            return
        try:
            await self._link.request({"type": "auth", "token": token})
        except RealtimeError as exc:
            if exc.code == TOKEN_INVALID:
                raise RealtimeError("Unauthorized", "The server refused the token.") from exc
            raise
        self._token = token

    async def ping(self) -> float:
        """Round trip of one `ping`, in seconds. The server answers in order, after every
        event it had already sent on this socket. (Not from a callback: the answer is read
        by the very task that runs callbacks.)"""
        if self._link.on_reader():
            raise RuntimeError("ping() cannot wait for its pong inside a realtime callback")
        return await self._link.round_trip()

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
            ws = self._link.ws
            if ws is None or not self._ready.is_set():
                continue
            if loop.time() - self._last_heard > dead_after:
                log.warning("realtime socket silent for %.1f s: reconnecting", dead_after)
                ws.transport.abort()
                continue
            with contextlib.suppress(RealtimeError):
                await self._link.ping()

    # ------------------------------------------------------------------ the connection

    async def _open(self) -> ClientConnection:
        ws = await open_socket(
            self.url,
            self._token,
            open_timeout=self._open_timeout,
            options=self._connect_options,
        )
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
            if await self._serve(ws):
                attempt = 0
            code = ws.close_code
            self.last_close_code = code
            ws = None
            if self._closing:
                break
            log.info("realtime socket closed (%s); reconnecting with since", code)
            await notify(self._on_disconnect, code)
            if code == RATE_LIMITED:
                attempt = max(attempt, RATE_LIMITED_ATTEMPT)
            if code == TOKEN_INVALID:
                self._needs_token = True
                error = RealtimeError(
                    "Unauthorized", "The access token is invalid or expired.", code=code
                )
                await self._channels.fail_everyone(error)

    async def _serve(self, ws: ClientConnection) -> bool:
        """Read `ws` until it closes; whether it got as far as resubscribing everything."""
        self.connection_count += 1
        reader = asyncio.create_task(self._read(ws), name="realtime-reader")
        self._link.attach(ws, reader)
        ready = False
        try:
            await self._resubscribe_all()
            ready = True
            self._ready.set()
            if self._first is not None and not self._first.done():
                self._first.set_result(None)
            await notify(self._on_connect)
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
            code = ws.close_code
            self._link.detach(code)
            if self._first is not None and not self._first.done():
                if code == TOKEN_INVALID:
                    refused = "The server refused the token."
                    error = RealtimeError("Unauthorized", refused, code=code)
                elif code == RATE_LIMITED:
                    error = RealtimeError("RateLimited", ws.close_reason or "", code=code)
                else:
                    error = RealtimeError("ConnectionLost", f"closed with {code}", code=code)
                self._first.set_exception(error)
        return ready

    async def _resubscribe_all(self) -> None:
        """Subscribe every channel on the new socket, resuming each after its last seq."""
        self._channels.forget_deferred()
        channels = list(self._channels.by_name.values())
        results = await asyncio.gather(
            *(self._channels.subscribe(channel) for channel in channels),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, TimeoutError):
                raise result
            if isinstance(result, RealtimeError) and result.error == "ConnectionLost":
                raise result
            # An `error` reply was handled where it arrived (the channel is dropped).

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
                await self._channels.handle(message)

    async def _subscribe(
        self, channel_name: str, name: str, handler: EventHandler, on_error: Callback | None
    ) -> Subscription:
        subscription = Subscription(
            channel=channel_name, name=name, handle=handler, on_error=on_error
        )
        channel, created = self._channels.add(channel_name, subscription)
        if self._link.ws is None:
            return subscription  # subscribed once (re)connected
        if created:
            # (A resubscription in progress took its list of channels before this one.)
            with contextlib.suppress(RealtimeError):  # dropped: the reconnect subscribes it
                await self._channels.subscribe(channel, wait=False)
        if self._link.on_reader():
            return subscription
        try:
            async with asyncio.timeout(self._request_timeout):
                await asyncio.shield(channel.ready)
        except BaseException:
            await self.unsubscribe(subscription)
            raise
        return subscription
