"""Pydantic models for the clinic's settings, closures and chairs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dentalcare.jsonshape import IsoDate, TextId, renderer


class ClosureRead(BaseModel):
    """A day the whole clinic is closed."""

    id: TextId
    date: IsoDate
    reason: str


class ClosureCreate(BaseModel):
    """Body of POST /api/clinic/closures."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    date: date
    reason: str = Field(default="", max_length=200)


class ClinicRead(BaseModel):
    """GET /api/clinic."""

    name: str
    timezone: str
    phone: str
    email: str
    address: str
    default_treatment_type_id: str
    cancellation_notice_hours: int
    hold_minutes: int
    reminder_hours: list[int]
    closures: list[ClosureRead]


class ClinicUpdate(BaseModel):
    """Body of PATCH /api/clinic: every field optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=40, pattern=r"^[0-9+()\-. ]*$")
    email: str | None = Field(default=None, max_length=254)
    address: str | None = Field(default=None, max_length=500)
    default_treatment_type_id: UUID | None = None
    cancellation_notice_hours: int | None = Field(default=None, ge=0, le=720)
    hold_minutes: int | None = Field(default=None, ge=1, le=60)
    reminder_hours: list[int] | None = Field(default=None, max_length=6)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in available_timezones():
            raise ValueError(f"{value!r} is not a time zone name such as 'Europe/London'")
        return value

    @field_validator("email")
    @classmethod
    def _email_or_empty(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return value
        if "@" not in value or len(value) < 3:
            raise ValueError("enter an e-mail address, or leave it empty")
        return value

    @field_validator("reminder_hours")
    @classmethod
    def _hours(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return None
        if any(h < 1 or h > 720 for h in value):
            raise ValueError("each reminder is 1 to 720 hours before the start")
        return sorted(set(value), reverse=True)


class ChairRead(BaseModel):
    """A chair (operatory)."""

    id: TextId
    name: str
    active: bool


class ChairCreate(BaseModel):
    """Body of POST /api/chairs."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=80)


class ChairUpdate(BaseModel):
    """Body of PATCH /api/chairs/{id}."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=80)
    active: bool | None = None


closure_json = renderer(ClosureRead)
chair_json = renderer(ChairRead)


def clinic_json(facts: Any, closures: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The clinic's settings (a `ClinicFacts`) and upcoming closures as the contract's JSON."""
    return {
        "name": facts.name,
        "timezone": facts.timezone,
        "phone": facts.phone,
        "email": facts.email,
        "address": facts.address,
        "default_treatment_type_id": str(facts.default_treatment_type_id),
        "cancellation_notice_hours": facts.cancellation_notice_hours,
        "hold_minutes": facts.hold_minutes,
        "reminder_hours": list(facts.reminder_hours),
        "closures": [closure_json(c) for c in closures],
    }
