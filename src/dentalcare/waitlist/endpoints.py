"""/api/waitlist, /api/recalls and the waitlist's dashboard figures."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, status

from dentalcare.auth.deps import CurrentUser, OptionalUser
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    HoldExpired,
    NotFound,
    RateLimited,
    SlotUnavailable,
    Unauthorized,
    ValidationError,
    responses,
)
from dentalcare.ratelimit import Limits
from dentalcare.responses import JSON
from dentalcare.waitlist import service
from dentalcare.waitlist.schemas import (
    EntryStatus,
    RecallRead,
    WaitlistAccept,
    WaitlistCreate,
    WaitlistOfferCreate,
    WaitlistRead,
)

router = APIRouter(prefix="/api/waitlist", tags=["waitlist"])
recalls_router = APIRouter(prefix="/api/recalls", tags=["waitlist"])
# Not under /api/waitlist: `/api/waitlist/stats` would shadow DELETE /api/waitlist/{id}.
stats_router = APIRouter(prefix="/api/dashboard", tags=["waitlist"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WaitlistRead,
    responses=responses(ValidationError, Forbidden, Unauthorized, BadRequest),
)
async def join_waitlist(
    body: WaitlistCreate, user: OptionalUser, uow: Uow, settings: AppSettings, clock: AppClock
) -> Any:
    """Wait for a treatment (optionally with one dentist), between two dates, at some
    times of day: a freed slot that suits is offered automatically."""
    entry = await service.join(
        uow=uow, settings=settings, caller=user, request=body, now=clock.now()
    )
    return JSON(entry, status_code=status.HTTP_201_CREATED)


@router.get(
    "",
    response_model=list[WaitlistRead],
    responses=responses(Unauthorized, Forbidden, BadRequest),
)
async def list_waitlist(
    user: CurrentUser,
    uow: Uow,
    status_: Annotated[EntryStatus | None, Query(alias="status")] = None,
    dentist_id: UUID | None = None,
    treatment_type_id: UUID | None = None,
) -> Any:
    """Every entry (staff) or the caller's own (patient), oldest first."""
    return JSON(
        await service.list_entries(
            uow=uow,
            caller=user,
            status=status_,
            dentist_id=dentist_id,
            treatment_type_id=treatment_type_id,
        )
    )


@stats_router.get(
    "/waitlist",
    responses=responses(Unauthorized, Forbidden),
)
async def waitlist_stats(user: CurrentUser, uow: Uow) -> Any:
    """Freed slots, how many the waitlist refilled, the median minutes to refill."""
    return JSON(await service.dashboard(uow=uow, caller=user))


@router.delete(
    "/{entry_id}",
    response_model=WaitlistRead,
    responses=responses(NotFound, Unauthorized, BadRequest),
)
async def cancel_waitlist_entry(
    entry_id: UUID, user: OptionalUser, uow: Uow, clock: AppClock
) -> Any:
    """Leave the waitlist (the owner) or take an entry off (staff): `cancelled`."""
    return JSON(
        await service.cancel_entry(uow=uow, caller=user, entry_id=entry_id, now=clock.now())
    )


@router.post(
    "/{entry_id}/accept",
    status_code=status.HTTP_201_CREATED,
    responses=responses(
        HoldExpired,
        NotFound,
        ValidationError,
        RateLimited,
        Unauthorized,
        BadRequest,
        SlotUnavailable,
    ),
)
async def accept_waitlist_offer(
    entry_id: UUID,
    user: OptionalUser,
    uow: Uow,
    settings: AppSettings,
    limits: Limits,
    clock: AppClock,
    body: WaitlistAccept | None = None,
) -> Any:
    """Book the offered slot (the offeree logged in, or the link's token): `201` with the
    appointment; `409 HoldExpired` once the offer lapsed."""
    appointment = await service.accept_offer(
        uow=uow,
        settings=settings,
        throttle=limits,
        caller=user,
        entry_id=entry_id,
        token=body.token if body else None,
        now=clock.now(),
    )
    return JSON(appointment, status_code=status.HTTP_201_CREATED)


@router.post(
    "/{entry_id}/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(HoldExpired, NotFound, Unauthorized, BadRequest),
)
async def decline_waitlist_offer(
    entry_id: UUID,
    user: OptionalUser,
    uow: Uow,
    clock: AppClock,
    body: WaitlistAccept | None = None,
) -> None:
    """Turn an offer down: the slot goes to the next entry, this one waits again."""
    await service.decline_offer(
        uow=uow,
        caller=user,
        entry_id=entry_id,
        token=body.token if body else None,
        now=clock.now(),
    )


@router.post(
    "/{entry_id}/offer",
    response_model=WaitlistRead,
    responses=responses(
        SlotUnavailable, Conflict, NotFound, ValidationError, Forbidden, Unauthorized, BadRequest
    ),
)
async def offer_waitlist_slot(
    entry_id: UUID,
    body: WaitlistOfferCreate,
    user: CurrentUser,
    uow: Uow,
    settings: AppSettings,
    clock: AppClock,
) -> Any:
    """Offer a free slot to an entry by hand (staff)."""
    return JSON(
        await service.offer_by_hand(
            uow=uow,
            settings=settings,
            caller=user,
            entry_id=entry_id,
            slot=body.slot,
            now=clock.now(),
        )
    )


@recalls_router.get(
    "",
    response_model=list[RecallRead],
    responses=responses(Unauthorized, Forbidden, BadRequest),
)
async def list_recalls(user: CurrentUser, uow: Uow, due_before: date | None = None) -> Any:
    """Patients due (or overdue) for a recall visit before a date (staff)."""
    return JSON(await service.list_recalls(uow=uow, caller=user, due_before=due_before))
