"""Pydantic models for accounts and tokens."""

from __future__ import annotations

from typing import Literal, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from dentalcare.text import PersonName

# An account's role (the users table's CHECK says the same; tests/db/test_vocabulary.py).
Role = Literal["patient", "dentist", "admin", "front_desk"]
ROLES: tuple[Role, ...] = get_args(Role)


# Rendered by auth.service.user_json (by hand: tests/api/test_renderers.py ties the two).
class UserRead(BaseModel):
    """The `user` of API.md."""

    id: UUID
    email: str
    role: Role
    full_name: str
    phone: str | None
    dentist_id: UUID | None


class RegisterRequest(BaseModel):
    """Body of POST /api/auth/register (unknown fields such as `role` are ignored)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=8, max_length=200)
    full_name: PersonName
    phone: str | None = Field(default=None, min_length=3, max_length=40, pattern=r"^[0-9+()\-. ]+$")


class LoginRequest(BaseModel):
    """Body of POST /api/auth/login."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=200)


class TokenResponse(BaseModel):
    """A fresh session."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    user: UserRead
