"""Pydantic models for dentists, and the renderer generated from `DentistRead`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from dentalcare.jsonshape import Instant, TextId, renderer
from dentalcare.text import PersonName


class DentistRead(BaseModel):
    """The `dentist` of API.md (`email` only for admins and the dentist)."""

    id: TextId
    name: str
    email: str | None = None
    specialization: str
    bio: str
    years_of_experience: int
    timezone: str
    slot_minutes: int
    active: bool
    default_chair_id: TextId | None = None
    created_at: Instant
    updated_at: Instant


class DentistCreate(BaseModel):
    """Body of POST /api/dentists."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: PersonName
    email: EmailStr = Field(max_length=254)
    specialization: str = Field(default="General Dentistry", min_length=1, max_length=120)
    bio: str = Field(default="", max_length=4000)
    years_of_experience: int = Field(default=0, ge=0, le=80)
    timezone: str | None = Field(default=None, max_length=64)
    slot_minutes: int = Field(default=30, ge=5, le=240)
    password: str | None = Field(default=None, min_length=8, max_length=200)


class DentistUpdate(BaseModel):
    """Body of PATCH /api/dentists/{id}."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: PersonName | None = None
    email: EmailStr | None = Field(default=None, max_length=254)
    specialization: str | None = Field(default=None, min_length=1, max_length=120)
    bio: str | None = Field(default=None, max_length=4000)
    years_of_experience: int | None = Field(default=None, ge=0, le=80)
    timezone: str | None = Field(default=None, max_length=64)
    slot_minutes: int | None = Field(default=None, ge=5, le=240)
    default_chair_id: UUID | None = None


class DentistCreated(BaseModel):
    """Response of POST /api/dentists: the password is shown only here."""

    dentist: DentistRead
    initial_password: str


_WITH_EMAIL = renderer(DentistRead)
# Not null but absent: the contract shows `email` only to admins and the dentist.
_PUBLIC = renderer(DentistRead, omit=("email",))


def dentist_json(row: Mapping[str, Any], *, include_email: bool) -> dict[str, Any]:
    """A dentist row (asyncpg record or event-log JSON) as the contract's JSON object."""
    return _WITH_EMAIL(row) if include_email else _PUBLIC(row)
