"""Pydantic models for waitlist entries, offers and recalls."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from dentalcare.jsonshape import hh_mm, iso_date, iso_instant, text_id
from dentalcare.text import PersonName

TimeOfDay = Literal["morning", "afternoon", "evening"]
EntryStatus = Literal["waiting", "offered", "booked", "expired", "cancelled"]
TIMES_OF_DAY: tuple[TimeOfDay, ...] = ("morning", "afternoon", "evening")


def time_of_day(at: time) -> TimeOfDay:
    """Morning before 12:00, afternoon until 17:00, evening after (local time)."""
    if at.hour < 12:
        return "morning"
    return "afternoon" if at.hour < 17 else "evening"


class WaitlistCreate(BaseModel):
    """Body of POST /api/waitlist (name, e-mail and phone default to a patient's own)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    treatment_type_id: UUID
    dentist_id: UUID | None = None
    earliest_date: date
    latest_date: date
    times: list[TimeOfDay] = Field(default_factory=lambda: list(TIMES_OF_DAY), min_length=1)
    patient_name: PersonName | None = None
    patient_email: EmailStr | None = Field(default=None, max_length=254)
    patient_phone: str | None = Field(
        default=None, min_length=3, max_length=40, pattern=r"^[0-9+()\-. ]+$"
    )
    # Staff entering a registered patient.
    patient_id: UUID | None = None

    @field_validator("times")
    @classmethod
    def _distinct(cls, value: list[TimeOfDay]) -> list[TimeOfDay]:
        return [t for t in TIMES_OF_DAY if t in value]

    @model_validator(mode="after")
    def _range(self) -> WaitlistCreate:
        if self.latest_date < self.earliest_date:
            raise ValueError("latest_date is before earliest_date")
        if (self.latest_date - self.earliest_date).days > 366:
            raise ValueError("the date range may span at most a year")
        return self


class SlotPick(BaseModel):
    """A slot staff offer by hand."""

    model_config = ConfigDict(extra="forbid")

    dentist_id: UUID
    appointment_date: date
    appointment_time: time


class WaitlistOfferCreate(BaseModel):
    """Body of POST /api/waitlist/{id}/offer."""

    model_config = ConfigDict(extra="forbid")

    slot: SlotPick


class WaitlistAccept(BaseModel):
    """Body of POST /api/waitlist/{id}/accept and /decline (the link's token, unless the
    offeree is logged in)."""

    model_config = ConfigDict(extra="forbid")

    token: str | None = Field(default=None, min_length=10, max_length=100)


class WaitlistRead(BaseModel):
    """A waitlist entry as the contract renders it."""

    id: str
    patient_id: str | None
    patient_name: str
    patient_email: str
    patient_phone: str
    treatment_type_id: str
    dentist_id: str | None
    earliest_date: str
    latest_date: str
    times: list[TimeOfDay]
    status: EntryStatus
    offer: dict[str, Any] | None
    created_at: str


class RecallRead(BaseModel):
    """One recall as GET /api/recalls lists it."""

    patient_id: str | None
    patient_name: str
    treatment_type_id: str
    due_date: str
    last_visit: str
    contacted_at: str | None
    booked_appointment_id: str | None


def offer_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A live offer: the hold, the slot, until when."""
    return {
        "hold_id": text_id(row["hold_id"]),
        "slot": {
            "dentist_id": text_id(row["dentist_id"]),
            "date": iso_date(row["appointment_date"]),
            "time": hh_mm(row["appointment_time"]),
            "starts_at": iso_instant(row["starts_at"]),
        },
        "expires_at": iso_instant(row["expires_at"]),
    }


def entry_json(row: Mapping[str, Any], offer: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A waitlist entry (with its live offer, if any) as the contract's JSON."""
    return {
        "id": text_id(row["id"]),
        "patient_id": text_id(row["patient_id"]),
        "patient_name": row["patient_name"],
        "patient_email": row["patient_email"],
        "patient_phone": row["patient_phone"],
        "treatment_type_id": text_id(row["treatment_type_id"]),
        "dentist_id": text_id(row["dentist_id"]),
        "earliest_date": iso_date(row["earliest_date"]),
        "latest_date": iso_date(row["latest_date"]),
        "times": list(row["times"]),
        "status": row["status"],
        "offer": offer_json(offer) if offer is not None and offer["status"] == "live" else None,
        "created_at": iso_instant(row["created_at"]),
    }


def recall_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A recall row as the contract's JSON."""
    return {
        "patient_id": text_id(row["patient_id"]),
        "patient_name": row["patient_name"],
        "treatment_type_id": text_id(row["treatment_type_id"]),
        "due_date": iso_date(row["due_date"]),
        "last_visit": iso_date(row["last_visit"]),
        "contacted_at": iso_instant(row["contacted_at"]),
        "booked_appointment_id": text_id(row["booked_appointment_id"]),
    }
