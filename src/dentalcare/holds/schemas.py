"""Pydantic models for holds."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, field_validator

from dentalcare.jsonshape import HhMm, Instant, IsoDate, TextId, renderer


class HoldCreate(BaseModel):
    """Body of POST /api/holds."""

    model_config = ConfigDict(extra="forbid")

    dentist_id: UUID
    appointment_date: date
    appointment_time: time
    treatment_type_id: UUID | None = None

    @field_validator("appointment_time")
    @classmethod
    def _whole_minutes(cls, value: time) -> time:
        if value.second or value.microsecond or value.tzinfo is not None:
            raise ValueError("use HH:MM in the dentist's own time zone")
        return value


class HoldRead(BaseModel):
    """A hold: the slot it keeps and until when (`hold_token` only for guests, only here)."""

    hold_id: TextId
    expires_at: Instant
    dentist_id: TextId
    appointment_date: IsoDate
    appointment_time: HhMm
    treatment_type_id: TextId
    duration_minutes: int
    starts_at: Instant
    ends_at: Instant
    chair_id: TextId | None
    hold_token: str | None = None


_render = renderer(HoldRead, omit=("hold_id", "hold_token"))


def hold_json(row: Mapping[str, Any], *, token: str | None = None) -> dict[str, Any]:
    """A hold row as the contract's JSON (with the guest's token when one was issued)."""
    body = {"hold_id": str(row["id"]), **_render(row)}
    if token is not None:
        body["hold_token"] = token
    return body
