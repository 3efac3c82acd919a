"""Pydantic models for treatment types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from dentalcare.jsonshape import money, text_id


class TreatmentTypeRead(BaseModel):
    """The `treatment_type` of API.md (`duration_minutes` null: the dentist's slot length)."""

    id: str
    name: str
    description: str
    duration_minutes: int | None
    buffer_before_minutes: int
    buffer_after_minutes: int
    recall_months: int | None
    bookable_online: bool
    active: bool
    dentist_ids: list[str]
    price: float | None


class TreatmentTypeCreate(BaseModel):
    """Body of POST /api/treatment-types."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    duration_minutes: int = Field(ge=5, le=480)
    buffer_before_minutes: int = Field(default=0, ge=0, le=120)
    buffer_after_minutes: int = Field(default=0, ge=0, le=120)
    recall_months: int | None = Field(default=None, ge=1, le=60)
    bookable_online: bool = True
    dentist_ids: list[UUID] = Field(default_factory=list, max_length=200)
    price: float | None = Field(default=None, ge=0, le=1_000_000)


class TreatmentTypeUpdate(BaseModel):
    """Body of PATCH /api/treatment-types/{id}: every field optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    duration_minutes: int | None = Field(default=None, ge=5, le=480)
    buffer_before_minutes: int | None = Field(default=None, ge=0, le=120)
    buffer_after_minutes: int | None = Field(default=None, ge=0, le=120)
    recall_months: int | None = Field(default=None, ge=1, le=60)
    bookable_online: bool | None = None
    active: bool | None = None
    dentist_ids: list[UUID] | None = Field(default=None, max_length=200)
    price: float | None = Field(default=None, ge=0, le=1_000_000)


def treatment_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A treatment type row (with its `dentist_ids` array) as the contract's JSON."""
    return {
        "id": text_id(row["id"]),
        "name": row["name"],
        "description": row["description"],
        "duration_minutes": row["duration_minutes"],
        "buffer_before_minutes": row["buffer_before_minutes"],
        "buffer_after_minutes": row["buffer_after_minutes"],
        "recall_months": row["recall_months"],
        "bookable_online": row["bookable_online"],
        "active": row["active"],
        "dentist_ids": [text_id(d) for d in row["dentist_ids"] or ()],
        "price": money(row["price"]),
    }
