"""Calling application callbacks that may be plain functions or coroutine functions."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

Callback = Callable[..., Awaitable[Any] | Any]
log = logging.getLogger("dentalcare.client")


async def invoke(callback: Callback, *args: Any) -> None:
    """Call `callback(*args)` and await the result when it is awaitable."""
    result = callback(*args)
    if inspect.isawaitable(result):
        await result


def positional_capacity(callback: Callback) -> int:
    """How many positional arguments `callback` accepts (a large number for `*args`)."""
    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):  # some builtins have no signature: assume plenty
        return 1 << 16
    count = 0
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return 1 << 16
        if parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            count += 1
    return count


def fitted(callback: Callback, available: int) -> Callable[..., Awaitable[None]]:
    """An async caller passing `callback` only as many of the `available` arguments as it
    takes, so both `on_updated(record)` and `on_updated(record, old_record)` work."""
    take = min(available, positional_capacity(callback))

    async def call(*args: Any) -> None:
        await invoke(callback, *args[:take])

    return call


async def notify(callback: Callback | None, *args: Any) -> None:
    """Call an application hook, if given; its exceptions are logged, never raised."""
    if callback is None:
        return
    try:
        await invoke(callback, *args)
    except Exception:
        log.exception("realtime client callback %r failed", callback)
