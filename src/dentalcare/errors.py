"""One exception hierarchy carrying status codes, and how endpoints declare them in OpenAPI.

No web framework and no database driver here: the pure cores (status rules, slots,
triage) raise these errors too. `dentalcare.error_handlers` turns them into responses.
"""

from __future__ import annotations

from typing import Any


class DentalCareError(Exception):
    """Base of every error the API reports; the class name is the stable `error` code."""

    status_code = 500

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    @property
    def code(self) -> str:
        """The machine-readable error code."""
        return type(self).__name__

    def body(self) -> dict[str, Any]:
        """The JSON body of the response."""
        return {"error": self.code, "detail": self.detail, **self.extra}

    def headers(self) -> dict[str, str] | None:
        """Extra response headers, if any."""
        return None


class BadRequest(DentalCareError):
    status_code = 400


class Unauthorized(DentalCareError):
    status_code = 401


class Forbidden(DentalCareError):
    status_code = 403


class NotFound(DentalCareError):
    status_code = 404


class MethodNotAllowed(DentalCareError):
    status_code = 405


class Conflict(DentalCareError):
    status_code = 409


class SlotUnavailable(Conflict):
    pass


class InvalidTransition(Conflict):
    pass


class AlreadyExists(Conflict):
    pass


class TooManyBookings(Conflict):
    """A guest already holds as many upcoming bookings as a guest may."""


class PolicyViolation(Conflict):
    """The clinic's cancellation policy forbids this change (too close to the start)."""


class HoldExpired(Conflict):
    """The hold lapsed before it was used: the slot may be someone else's now."""


class LinkExpired(DentalCareError):
    """A link from a message that was used already, has expired, or was never issued."""

    status_code = 410


class PayloadTooLarge(DentalCareError):
    status_code = 413


class ValidationError(DentalCareError):
    status_code = 422


class RateLimited(DentalCareError):
    status_code = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(DentalCareError):
    status_code = 503

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "2"}


# What an endpoint declares in OpenAPI for its error responses.
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    "additionalProperties": True,
}


def responses(*errors: type[DentalCareError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the given error classes."""
    out: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        entry = out.setdefault(
            error.status_code,
            {"description": "", "content": {"application/json": {"schema": ERROR_SCHEMA}}},
        )
        names = [n for n in entry["description"].split(", ") if n] + [error.__name__]
        entry["description"] = ", ".join(names)
    return out
