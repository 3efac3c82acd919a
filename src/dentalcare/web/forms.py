"""Form input → the services' pydantic models, with errors keyed by field for the templates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic

from dentalcare.errors import DentalCareError
from dentalcare.web import phones

M = TypeVar("M", bound=pydantic.BaseModel)

# What to tell a person, by field; the model's own message otherwise.
FRIENDLY = {
    "patient_name": "Enter the full name of the person coming in.",
    "patient_email": "Enter a valid e-mail address, like name@example.com.",
    "patient_phone": "Enter a phone number we can call.",
    "patient_age": "Enter an age between 0 and 130.",
    "appointment_date": "Choose a free time in the calendar first.",
    "appointment_time": "Choose a free time in the calendar first.",
    "payment_method": "Choose cash, card or insurance.",
    "email": "Enter a valid e-mail address, like name@example.com.",
    "password": "Use at least 8 characters.",
    "full_name": "Enter your full name.",
    "phone": "Enter a phone number we can call.",
    "name": "Enter the dentist's name.",
    "specialization": "Enter a specialty, such as General Dentistry.",
    "years_of_experience": "Enter a number of years between 0 and 80.",
    "slot_minutes": "Enter a slot length between 5 and 240 minutes.",
    "date": "Enter a date.",
    "start_time": "Enter a 24-hour time as HH:MM, e.g. 09:00.",
    "end_time": "Enter a 24-hour time as HH:MM, e.g. 17:30.",
}
# Fields that hold a phone number: read with the clinic's country, kept international.
PHONE_FIELDS = ("patient_phone", "phone")
# 9:00, 09:00, 9.30, 13.30: the ways people type a 24-hour time.
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3])[:.]([0-5][0-9])")


class FormInvalid(Exception):
    """Field errors to show next to the fields (`__all__` for the form as a whole)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def _message(field: str, raw: str) -> str:
    if field in FRIENDLY:
        return FRIENDLY[field]
    text = raw.removeprefix("Value error, ")
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def errors_of(exc: pydantic.ValidationError) -> dict[str, str]:
    """The first error of each field of a pydantic validation error."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ())]
        field = loc[0] if loc else "__all__"
        limit = (error.get("ctx") or {}).get("max_length")
        if error.get("type") == "string_too_long" and limit is not None:
            # Too long is not "missing": say the limit rather than ask for the field again.
            errors.setdefault(field, f"Use at most {limit} characters.")
            continue
        errors.setdefault(field, _message(field, str(error.get("msg", "is not valid"))))
    return errors


def errors_of_service(exc: DentalCareError) -> dict[str, str]:
    """Field errors from a service's error (its `fields`), else one error for the form."""
    errors: dict[str, str] = {}
    for entry in exc.extra.get("fields", []) or []:
        loc = [str(p) for p in entry.get("loc", []) if p not in ("body", "query", "path")]
        if loc:
            errors.setdefault(".".join(loc), exc.detail)
    return errors or {"__all__": exc.detail}


def clock_text(value: str) -> str:
    """A typed time as `HH:MM` (`9.30` → `09:30`); anything else as it came, for the
    model to refuse."""
    match = _CLOCK.fullmatch(value.strip())
    return f"{int(match[1]):02d}:{match[2]}" if match else value


def parse(model: type[M], data: Mapping[str, Any], *, phone_region: str | None = None) -> M:
    """`model` from form data, or FormInvalid with friendly field errors (all fields at
    once). Phone numbers are read with `phone_region` as their default country and passed
    on in the international form."""
    values = dict(data)
    errors: dict[str, str] = {}
    for name in PHONE_FIELDS:
        if isinstance(values.get(name), str) and values[name].strip():
            try:
                values[name] = phones.normalize(values[name], phone_region)
            except phones.PhoneInvalid as exc:
                errors[name] = str(exc)
    try:
        parsed = model.model_validate(values)
    except pydantic.ValidationError as exc:
        raise FormInvalid({**errors_of(exc), **errors}) from exc
    if errors:
        raise FormInvalid(errors)
    return parsed
