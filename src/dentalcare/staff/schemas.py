"""Bodies and responses of /api/staff."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from dentalcare.auth.schemas import UserRead
from dentalcare.text import PersonName

StaffRole = Literal["front_desk", "admin"]


class StaffCreate(BaseModel):
    """Body of POST /api/staff."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr = Field(max_length=254)
    full_name: PersonName
    role: StaffRole
    password: str | None = Field(default=None, min_length=8, max_length=200)


class StaffCreated(BaseModel):
    """Response of POST /api/staff: the password is shown only here."""

    user: UserRead
    initial_password: str
