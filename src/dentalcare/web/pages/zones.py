"""The time zones of the dentists a page lists, for the `clock` filter and app.js."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dentalcare.auth.tokens import Principal
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.dentists import service as dentists
from dentalcare.web.filters import day_label
from dentalcare.web.localtime import clock_of


async def dentist_zones(*, uow: UnitOfWork, caller: Principal | None) -> dict[str, str]:
    """Dentist id → IANA zone, for every dentist in the directory (a removed dentist's
    appointments fall back to the clinic's zone, or to the offset they carry)."""
    return {d["id"]: d["timezone"] for d in await dentists.list_dentists(uow=uow, caller=caller)}


async def when_label(
    *, uow: UnitOfWork, caller: Principal | None, appointment: Mapping[str, Any], fallback: str
) -> str:
    """`Mon 24 Nov at 10:30 EST` for a message about an appointment (toasts, flashes)."""
    zones = await dentist_zones(uow=uow, caller=caller)
    name = zones.get(str(appointment["dentist_id"]), fallback)
    return f"{day_label(appointment['appointment_date'])} at {clock_of(appointment, name)}"
