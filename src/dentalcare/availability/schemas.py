"""Pydantic models for schedules, exceptions and slots, and the renderers generated from
the `XRead` ones."""

from __future__ import annotations

from datetime import date, datetime, time
from datetime import date as datetime_date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dentalcare.jsonshape import HhMm, Instant, IsoDate, TextId, renderer
from dentalcare.vocabulary import Status


def wall_clock(value: time | None) -> time | None:
    """A schedule time is HH:MM on the dentist's own clock: no seconds, no UTC offset."""
    if value is not None and (value.second or value.microsecond or value.tzinfo is not None):
        raise ValueError("use HH:MM in the dentist's own time zone")
    return value


class WeeklyWindow(BaseModel):
    """One weekly window: `day_of_week` 0 = Monday … 6 = Sunday."""

    model_config = ConfigDict(extra="forbid")

    day_of_week: int = Field(ge=0, le=6)
    start_time: time = Field(examples=["09:00"])
    end_time: time = Field(examples=["17:00"])
    is_available: bool = True

    _wall_clock = field_validator("start_time", "end_time")(wall_clock)

    @model_validator(mode="after")
    def _ordered(self) -> WeeklyWindow:
        if self.start_time >= self.end_time:
            raise ValueError("start_time must be before end_time")
        return self


class WeeklyWindowRead(BaseModel):
    """A weekly window as returned."""

    day_of_week: int
    start_time: HhMm
    end_time: HhMm
    is_available: bool


class WeeklyScheduleUpdate(BaseModel):
    """Body of PUT /api/availability/{dentist_id}."""

    model_config = ConfigDict(extra="forbid")

    weekly: list[WeeklyWindow] = Field(max_length=200)


class ExceptionCreate(BaseModel):
    """Body of POST /api/availability/{dentist_id}/exceptions."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    date: date
    start_time: time | None = None
    end_time: time | None = None
    is_available: bool = False
    reason: str | None = Field(default=None, max_length=500)
    # Time off for a range of dates: `date` to `until` inclusive (a holiday is one entry).
    until: datetime_date | None = None

    _wall_clock = field_validator("start_time", "end_time")(wall_clock)

    @model_validator(mode="after")
    def _consistent(self) -> ExceptionCreate:
        if (self.start_time is None) != (self.end_time is None):
            raise ValueError("give both start_time and end_time, or neither (whole day)")
        if self.start_time is not None and self.end_time is not None:
            if self.start_time >= self.end_time:
                raise ValueError("start_time must be before end_time")
        elif self.is_available:
            raise ValueError("extra hours (is_available: true) need start_time and end_time")
        if self.until is not None:
            if self.is_available:
                raise ValueError("until is for time off; add extra hours one date at a time")
            if self.until < self.date:
                raise ValueError("until must not be before date")
            if (self.until - self.date).days > 366:
                raise ValueError("time off may cover at most a year")
        return self


class ExceptionRead(BaseModel):
    """An exception as returned."""

    id: TextId
    dentist_id: TextId
    date: IsoDate
    start_time: HhMm | None
    end_time: HhMm | None
    is_available: bool
    reason: str | None
    until: IsoDate | None = None
    created_at: Instant


class AvailabilityRead(BaseModel):
    """Response of GET /api/availability/{dentist_id}."""

    dentist_id: UUID
    timezone: str
    slot_minutes: int
    weekly: list[WeeklyWindowRead]
    exceptions: list[ExceptionRead]


class OutsideHours(BaseModel):
    """A booked appointment that the new schedule no longer covers (it is kept)."""

    id: TextId
    booking_reference: str
    appointment_date: IsoDate
    appointment_time: HhMm
    patient_name: str
    status: Status


class ExceptionAdded(ExceptionRead):
    """Response of POST /api/availability/{dentist_id}/exceptions."""

    appointments_outside_hours: list[OutsideHours] = []


class AvailabilityReplaced(AvailabilityRead):
    """Response of PUT /api/availability/{dentist_id}."""

    appointments_outside_hours: list[OutsideHours]


class SlotRead(BaseModel):
    """A free slot."""

    date: str
    time: str
    starts_at: datetime
    ends_at: datetime


class SlotsRead(BaseModel):
    """Response of GET /api/dentists/{id}/slots."""

    dentist_id: UUID
    timezone: str
    slot_minutes: int
    treatment_type_id: str | None = None
    duration_minutes: int | None = None
    slots: list[SlotRead]


# A weekly window row as JSON (the event log's record adds id and dentist_id).
window_json = renderer(WeeklyWindowRead)
# An availability exception row as JSON.
exception_json = renderer(ExceptionRead)
# An appointment row as an entry of `appointments_outside_hours`.
outside_hours_json = renderer(OutsideHours)
