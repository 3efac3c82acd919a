"""Local subscriptions and the server channels they ride on.

Several local subscriptions may share one server channel (e.g. two views of `appointments`):
the channel is subscribed once per socket, remembers the last `seq` it delivered, and hands
each event to every local subscription on it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import UUID

from dentalcare.client.callbacks import Callback, fitted, invoke
from dentalcare.client.events import RealtimeEvent

EventHandler = Callable[[RealtimeEvent], Awaitable[None]]
_ids = itertools.count(1)

ROLES = ("patient", "dentist", "admin")


@dataclass(eq=False)
class Subscription:
    """One subscription made through the SDK; pass it to `unsubscribe()` to stop it."""

    channel: str  # the server channel, e.g. "appointments" or "availability:<id>"
    name: str  # a descriptive name, e.g. "appointments:patient:<id>"
    handle: EventHandler
    on_error: Callback | None = None
    id: str = field(default_factory=lambda: f"sub-{next(_ids)}")
    active: bool = True

    async def fail(self, error: Exception) -> None:
        """Tell the subscriber about an error (its `on_error`, if it gave one)."""
        if self.on_error is not None:
            await invoke(self.on_error, error)


@dataclass(eq=False)
class Channel:
    """A server channel as this client follows it."""

    name: str
    subscriptions: list[Subscription] = field(default_factory=list)
    # Position of the last event handed to the subscribers; resubscribing sends it as `since`.
    last_seq: int | None = None
    # The `head` of the latest `subscribed` reply (where a `reset` leaves us).
    head: int | None = None
    # Resolved by the first `subscribed` (or failed by an `error`) reply.
    ready: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    duplicates_dropped: int = 0


def availability_channel(dentist_id: UUID | str) -> str:
    """The channel of one dentist's availability, spelled as the server spells it."""
    return f"availability:{UUID(str(dentist_id))}"


def appointment_handler(
    *,
    on_created: Callback | None,
    on_updated: Callback | None,
    on_deleted: Callback | None,
    accept: Callable[[RealtimeEvent], bool] | None = None,
) -> EventHandler:
    """Route appointment events by op: INSERT → on_created(record), UPDATE →
    on_updated(record, old_record), DELETE → on_deleted(old_record)."""
    created = fitted(on_created, 1) if on_created else None
    updated = fitted(on_updated, 2) if on_updated else None
    deleted = fitted(on_deleted, 1) if on_deleted else None

    async def handle(event: RealtimeEvent) -> None:
        if event.table != "appointments" or (accept is not None and not accept(event)):
            return
        if event.op == "INSERT" and created is not None:
            await created(event.record)
        elif event.op == "UPDATE" and updated is not None:
            await updated(event.record, event.old_record)
        elif event.op == "DELETE" and deleted is not None:
            await deleted(event.row)

    return handle


def change_handler(on_changed: Callback | None) -> EventHandler:
    """Every event goes to `on_changed(event)`."""

    async def handle(event: RealtimeEvent) -> None:
        if on_changed is not None:
            await invoke(on_changed, event)

    return handle


def appointment_filter(
    user_id: UUID | str, role: str, token_subject: str | None
) -> Callable[[RealtimeEvent], bool] | None:
    """Narrow the `appointments` channel to one patient's or one dentist's appointments.

    The server already sends only what the token may see; this matters when a broader token
    (an admin's) follows one user. A dentist following their own appointments may pass
    their user id or their dentist id.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    wanted = str(user_id)
    if role == "admin" or (role == "dentist" and wanted == token_subject):
        return None
    key = "patient_id" if role == "patient" else "dentist_id"

    def accept(event: RealtimeEvent) -> bool:
        return any(
            row is not None and str(row.get(key)) == wanted
            for row in (event.record, event.old_record)
        )

    return accept
