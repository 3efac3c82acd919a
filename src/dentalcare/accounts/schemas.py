"""Pydantic models for the manage links and the account actions."""

from __future__ import annotations

from datetime import date, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

ManageAction = Literal["confirm_attendance", "cancel", "reschedule"]


class ManageRequest(BaseModel):
    """Body of POST /api/manage/{token}."""

    model_config = ConfigDict(extra="forbid")

    action: ManageAction
    appointment_date: date | None = None
    appointment_time: time | None = None


class EmailRequest(BaseModel):
    """Body of POST /api/auth/password-reset and POST /api/bookings/email-me."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr = Field(max_length=254)


class PasswordResetConfirm(BaseModel):
    """Body of POST /api/auth/password-reset/confirm."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=200)


class PasswordChange(BaseModel):
    """Body of POST /api/auth/password (the logged-in user's own)."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


class TokenRequest(BaseModel):
    """Body of POST /api/auth/verify-email."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)
