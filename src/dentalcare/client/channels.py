"""The channels a client follows, and what each server message does to them.

Per channel the client keeps the `seq` of the last event it handed out: events at or
below it are dropped (nothing applied twice), and a resubscription sends it as `since`
(nothing missed). A resubscription the server refuses for now (RateLimited: the socket
resumed more channels at once than its replay budget holds) is not given up: it is sent
again after the `retry_after` the refusal named, one channel at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from dentalcare.client.callbacks import Callback, notify
from dentalcare.client.events import RealtimeError, RealtimeEvent
from dentalcare.client.link import Link, retrieve
from dentalcare.client.subscriptions import Channel, Subscription

log = logging.getLogger("dentalcare.client")


class Channels:
    """Channels by name, fed by the messages read from the socket."""

    def __init__(self, link: Link, *, on_reset: Callback | None, on_error: Callback | None) -> None:
        self.link = link
        self.on_reset = on_reset
        self.on_error = on_error
        self.by_name: dict[str, Channel] = {}
        # Resubscriptions refused for now, oldest first, and the task that retries them.
        self._deferred: dict[str, Channel] = {}
        self._retry_after = 1.0
        self._retrier: asyncio.Task[None] | None = None

    def add(self, name: str, subscription: Subscription) -> tuple[Channel, bool]:
        """Put `subscription` on channel `name`; the channel and whether it is new."""
        channel = self.by_name.get(name)
        created = channel is None
        if channel is None:
            channel = Channel(name)
            channel.ready.add_done_callback(retrieve)
            self.by_name[name] = channel
        channel.subscriptions.append(subscription)
        return channel, created

    def remove(self, subscription: Subscription) -> Channel | None:
        """Take `subscription` off its channel; the channel if that emptied it (now gone)."""
        channel = self.by_name.get(subscription.channel)
        if channel is None or subscription not in channel.subscriptions:
            return None
        channel.subscriptions.remove(subscription)
        if channel.subscriptions:
            return None
        del self.by_name[channel.name]
        if not channel.ready.done():
            channel.ready.cancel()
        return channel

    def subscriptions(self) -> list[Subscription]:
        """Every active subscription, channel by channel."""
        return [sub for channel in self.by_name.values() for sub in channel.subscriptions]

    async def subscribe(self, channel: Channel, *, wait: bool = True) -> None:
        """Send `subscribe`, resuming after the channel's last seq when it has one."""
        message: dict[str, Any] = {"type": "subscribe", "channel": channel.name}
        if channel.last_seq is not None:
            message["since"] = channel.last_seq
        await self.link.request(message, wait=wait)

    def forget_deferred(self) -> None:
        """A new socket resubscribes everything (or the client closes): retry nothing."""
        self._deferred.clear()
        retrier, self._retrier = self._retrier, None
        if retrier is not None:
            retrier.cancel()

    def _defer(self, channel: Channel, retry_after: float) -> None:
        self._deferred[channel.name] = channel
        self._retry_after = retry_after
        if self._retrier is None or self._retrier.done():
            self._retrier = asyncio.create_task(
                self._retry_deferred(), name="realtime-resubscribe-later"
            )

    async def _retry_deferred(self) -> None:
        """Resubscribe the refused channels one by one, each after the last `retry_after`
        (a channel refused again goes to the back of the line)."""
        ws = self.link.ws
        while self._deferred and ws is not None and self.link.ws is ws:
            await asyncio.sleep(self._retry_after)
            if self.link.ws is not ws or not self._deferred:
                return
            name = next(iter(self._deferred))
            channel = self._deferred.pop(name)
            if self.by_name.get(name) is not channel:
                continue  # unsubscribed meanwhile
            try:
                await self.subscribe(channel)
            except RealtimeError as exc:
                if exc.error == "ConnectionLost":
                    return  # the reconnect resubscribes everything
            except TimeoutError:
                return

    async def fail_everyone(self, error: RealtimeError) -> None:
        """Tell the client's and every subscription's `on_error`."""
        await notify(self.on_error, error)
        for subscription in self.subscriptions():
            await notify(subscription.fail, error)

    # ------------------------------------------------------------------ server messages

    async def handle(self, message: dict[str, Any]) -> None:
        """Act on one message from the server."""
        kind = message.get("type")
        if kind == "event":
            await self._event(message)
        elif kind == "subscribed":
            self._subscribed(message)
        elif kind == "reset":
            await self._reset(message)
        elif kind == "error":
            await self._error(message)
        elif kind == "ping":
            # (If the socket is closing, the reconnect takes over.)
            with contextlib.suppress(RealtimeError):
                await self.link.send({"type": "pong"})
        elif kind == "pong":
            self.link.on_pong()
        elif kind in ("unsubscribed", "authenticated"):
            request = self.link.take(message.get("ref"))
            if request is not None and not request.reply.done():
                request.reply.set_result(message)

    async def _event(self, message: dict[str, Any]) -> None:
        channel = self.by_name.get(message.get("channel", ""))
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
                await notify(subscription.fail, exc)

    def _subscribed(self, message: dict[str, Any]) -> None:
        request = self.link.take(message.get("ref"))
        channel = self.by_name.get(message.get("channel", ""))
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

    async def _reset(self, message: dict[str, Any]) -> None:
        channel = self.by_name.get(message.get("channel", ""))
        if channel is None:
            return
        # The history before `since` is gone: live events continue after the head, which
        # may be *below* our last seq (a database restored from an older backup).
        channel.last_seq = channel.head
        log.warning("realtime history expired on %s: refetch over REST", channel.name)
        await notify(self.on_reset, channel.name)

    async def _error(self, message: dict[str, Any]) -> None:
        retry_after = message.get("retry_after")
        error = RealtimeError(
            str(message.get("error")),
            str(message.get("detail") or ""),
            retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
        )
        request = self.link.take(message.get("ref"))
        if request is None:
            await notify(self.on_error, error)
            return
        if not request.reply.done():
            request.reply.set_exception(error)
        if request.kind != "subscribe" or request.channel is None:
            return
        resumed = self.by_name.get(request.channel)
        if error.error == "RateLimited" and resumed is not None and resumed.ready.done():
            # A resubscription refused for now: the channel stays, and is asked for again.
            self._defer(resumed, error.retry_after or 1.0)
            return
        channel = self.by_name.pop(request.channel, None)
        if channel is None:
            return
        waiting = not channel.ready.done()
        if waiting:
            channel.ready.set_exception(error)
        for subscription in channel.subscriptions:
            subscription.active = False
            if not waiting:  # a resubscription was refused: nobody else will hear of it
                await notify(subscription.fail, error)
        channel.subscriptions.clear()
