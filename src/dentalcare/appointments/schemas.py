"""Pydantic models for appointments, and the one function that renders an appointment."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from dentalcare.jsonshape import hh_mm, iso_date, iso_instant, money, text_id
from dentalcare.vocabulary import (
    BookingSource,
    PaymentMethod,
    PaymentStatus,
    Status,
    Urgency,
)

ShortText = Field(default=None, max_length=4000)


class AppointmentCreate(BaseModel):
    """Body of POST /api/appointments.

    Unknown fields are ignored: `booking_source`, `status` or `patient_id` in a body are
    never trusted, the server sets them.
    """

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    dentist_id: UUID
    appointment_date: date
    appointment_time: time
    patient_name: str = Field(min_length=1, max_length=200)
    patient_email: EmailStr = Field(max_length=254)
    patient_phone: str = Field(min_length=3, max_length=40, pattern=r"^[0-9+()\-. ]+$")
    patient_age: int | None = Field(default=None, ge=0, le=130)
    patient_medical_conditions: str | None = ShortText
    chief_complaint: str | None = Field(default=None, max_length=2000)
    symptoms: str | None = ShortText
    medical_history: str | None = ShortText
    medications: str | None = ShortText
    allergies: str | None = ShortText
    notes: str | None = ShortText
    payment_method: PaymentMethod | None = None

    @field_validator("appointment_time")
    @classmethod
    def _whole_minutes(cls, value: time) -> time:
        if value.second or value.microsecond or value.tzinfo is not None:
            raise ValueError("use HH:MM in the dentist's own time zone")
        return value


class AppointmentUpdate(BaseModel):
    """Body of PUT /api/appointments/{id}: every field optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: Status | None = None
    appointment_date: date | None = None
    appointment_time: time | None = None
    notes: str | None = ShortText
    cancellation_reason: str | None = Field(default=None, max_length=1000)
    payment_status: PaymentStatus | None = None
    payment_method: PaymentMethod | None = None
    patient_phone: str | None = Field(
        default=None, min_length=3, max_length=40, pattern=r"^[0-9+()\-. ]+$"
    )

    @field_validator("appointment_time")
    @classmethod
    def _whole_minutes(cls, value: time | None) -> time | None:
        if value is not None and (value.second or value.microsecond or value.tzinfo):
            raise ValueError("use HH:MM in the dentist's own time zone")
        return value


class AppointmentRead(BaseModel):
    """The `appointment` of API.md."""

    id: UUID
    booking_reference: str
    patient_id: UUID | None
    dentist_id: UUID
    dentist_name: str | None
    patient_name: str
    patient_email: str
    patient_phone: str
    patient_age: int | None
    patient_medical_conditions: str | None
    appointment_date: str = Field(examples=["2026-11-23"])
    appointment_time: str = Field(examples=["10:00"])
    duration_minutes: int
    starts_at: datetime
    ends_at: datetime
    status: Status
    booking_source: BookingSource
    chief_complaint: str | None
    symptoms: str | None
    urgency: Urgency | None
    medical_history: str | None
    medications: str | None
    allergies: str | None
    notes: str | None
    payment_method: PaymentMethod | None
    payment_status: PaymentStatus
    payment_amount: float | None
    cancellation_reason: str | None
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    completed_at: datetime | None


class AppointmentList(BaseModel):
    """A page of appointments."""

    items: list[AppointmentRead]
    next_cursor: str | None


_PLAIN = (
    "booking_reference",
    "dentist_name",
    "patient_name",
    "patient_email",
    "patient_phone",
    "patient_age",
    "patient_medical_conditions",
    "duration_minutes",
    "status",
    "booking_source",
    "chief_complaint",
    "symptoms",
    "urgency",
    "medical_history",
    "medications",
    "allergies",
    "notes",
    "payment_method",
    "payment_status",
    "cancellation_reason",
)
_INSTANTS = (
    "starts_at",
    "ends_at",
    "created_at",
    "updated_at",
    "confirmed_at",
    "cancelled_at",
    "completed_at",
)


def appointment_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """An appointment row (asyncpg record or event-log JSON) as the contract's JSON object."""
    out: dict[str, Any] = {
        "id": text_id(row["id"]),
        "patient_id": text_id(row["patient_id"]),
        "dentist_id": text_id(row["dentist_id"]),
    }
    for key in _PLAIN:
        out[key] = row.get(key)
    out["appointment_date"] = iso_date(row["appointment_date"])
    out["appointment_time"] = hh_mm(row["appointment_time"])
    out["payment_amount"] = money(row.get("payment_amount"))
    for key in _INSTANTS:
        out[key] = iso_instant(row.get(key))
    return out
