"""Pages behind the links in messages and the account pages: /manage/{token},
/unsubscribe/{token}, /verify-email/{token}, /forgot-password, /reset-password/{token},
/account/password, and the "e-mail me my bookings" form of /bookings/find.

Opening a link never acts (mail scanners open links too): the page shows what the link
will do, and a button posts it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError as PydanticValidationError
from starlette.responses import Response

from dentalcare.accounts import service as accounts
from dentalcare.accounts.schemas import (
    EmailRequest,
    ManageRequest,
    PasswordChange,
    PasswordResetConfirm,
)
from dentalcare.auth.deps import Hashing
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.errors import DentalCareError, LinkExpired, RateLimited, Unauthorized
from dentalcare.ratelimit import client_bucket
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.session import PageUser, start_session
from dentalcare.web.templating import redirect, render
from dentalcare.web.views import clean_form

router = APIRouter()

ACTION_LABELS = {
    "confirm_attendance": "Confirm I will come",
    "cancel": "Cancel this appointment",
    "reschedule": "Move to this time",
}


def _expired(request: Request) -> Response:
    return render(
        request,
        "account/done.html",
        {
            "page": "link",
            "title": "This link no longer works",
            "detail": "It was used already or has expired. Find your booking, or ask for "
            "a new e-mail.",
        },
        status_code=410,
    )


def _done(request: Request, title: str, detail: str) -> Response:
    return render(request, "account/done.html", {"page": "link", "title": title, "detail": detail})


@router.get("/manage/{token}")
async def manage_page(request: Request, token: str, uow: Uow, clock: AppClock) -> Response:
    """What the link will do to which appointment, and the button that does it."""
    try:
        shown = await accounts.manage_page(uow=uow, token=token, now=clock.now())
    except LinkExpired:
        return _expired(request)
    context = {
        "page": "link",
        "token": token,
        "action": shown["action"],
        "label": ACTION_LABELS[shown["action"]],
        "a": shown["appointment"],
        "form": {},
    }
    return render(request, "account/manage.html", context)


@router.post("/manage/{token}")
async def manage_submit(
    request: Request,
    token: str,
    form: CheckedForm,
    uow: Uow,
    settings: AppSettings,
    clock: AppClock,
) -> Response:
    """Do what the link is for."""
    values = clean_form(form, ("action", "appointment_date", "appointment_time"))
    try:
        body = ManageRequest.model_validate(values)
        done = await accounts.manage(
            uow=uow, settings=settings, token=token, request=body, now=clock.now()
        )
    except LinkExpired:
        return _expired(request)
    except PydanticValidationError:
        return _done(request, "Something is missing", "Give a date and a time (HH:MM).")
    except DentalCareError as exc:
        return render(
            request,
            "account/done.html",
            {"page": "link", "title": "That did not work", "detail": exc.detail},
            status_code=exc.status_code,
        )
    when = f"{done['appointment_date']} at {str(done['appointment_time'])[:5]}"
    titles = {
        "confirm_attendance": ("Thank you — see you then", f"You confirmed your visit on {when}."),
        "cancel": ("Your appointment is cancelled", f"The visit on {when} is cancelled."),
        "reschedule": ("Your appointment is moved", f"Your visit is now on {when}."),
    }
    return _done(request, *titles[body.action])


@router.get("/unsubscribe/{token}")
async def unsubscribe_page(request: Request, token: str) -> Response:
    """The button that stops reminders."""
    return render(
        request,
        "account/confirm_link.html",
        {
            "page": "link",
            "title": "Stop appointment reminders",
            "detail": "You will get no more reminders. Booking confirmations and changes "
            "still arrive.",
            "action_url": f"/unsubscribe/{token}",
            "button": "Stop reminders",
        },
    )


@router.post("/unsubscribe/{token}")
async def unsubscribe_submit(
    request: Request, token: str, _form: CheckedForm, uow: Uow, clock: AppClock
) -> Response:
    """Stop reminders to the address the link was sent to."""
    try:
        await accounts.unsubscribe(uow=uow, token=token, now=clock.now())
    except LinkExpired:
        return _expired(request)
    return _done(request, "No more reminders", "You will not get appointment reminders any more.")


@router.get("/verify-email/{token}")
async def verify_page(request: Request, token: str) -> Response:
    """The button that confirms the address."""
    return render(
        request,
        "account/confirm_link.html",
        {
            "page": "link",
            "title": "Confirm your e-mail address",
            "detail": "One click and your account's address is confirmed.",
            "action_url": f"/verify-email/{token}",
            "button": "Confirm my address",
        },
    )


@router.post("/verify-email/{token}")
async def verify_submit(
    request: Request, token: str, _form: CheckedForm, uow: Uow, clock: AppClock
) -> Response:
    """Mark the address verified."""
    try:
        verified = await accounts.verify_email(uow=uow, token=token, now=clock.now())
    except LinkExpired:
        return _expired(request)
    joined = verified["joined_bookings"]
    detail = "Thank you."
    if joined:
        detail = (
            f"Thank you. {joined} booking{'s' if joined != 1 else ''} you made earlier with "
            "this address now appear under My appointments."
        )
    return _done(request, "Your address is confirmed", detail)


@router.get("/forgot-password")
async def forgot_page(request: Request) -> Response:
    """Ask for a reset link."""
    return render(request, "account/forgot.html", {"page": "forgot", "form": {}})


@router.post("/forgot-password")
async def forgot_submit(
    request: Request, form: CheckedForm, uow: Uow, settings: AppSettings, clock: AppClock
) -> Response:
    """Send the link if the address has an account; the same page either way."""
    values = clean_form(form, ("email",))
    try:
        body = EmailRequest.model_validate(values)
    except PydanticValidationError:
        errors = {"email": "Enter your e-mail address."}
        context = {"page": "forgot", "form": values, "errors": errors}
        return render(request, "account/forgot.html", context, status_code=422)
    limits: accounts.AccountMailLimits = request.app.state.account_mail_limits
    try:
        limits.count(email=str(body.email), address=_client(request))
    except RateLimited as exc:
        context = {"page": "forgot", "form": values, "errors": {"__all__": exc.detail}}
        return render(request, "account/forgot.html", context, status_code=429)
    await accounts.request_password_reset(
        uow=uow, settings=settings, email=str(body.email), now=clock.now()
    )
    return _done(
        request,
        "Check your e-mail",
        "If an account uses this address, a link to choose a new password is on its way.",
    )


@router.get("/reset-password/{token}")
async def reset_page(request: Request, token: str) -> Response:
    """Choose a new password."""
    return render(request, "account/reset.html", {"page": "reset", "form": {}, "token": token})


@router.post("/reset-password/{token}")
async def reset_submit(
    request: Request, token: str, form: CheckedForm, uow: Uow, hashing: Hashing, clock: AppClock
) -> Response:
    """Set the new password; then log in with it."""
    values = clean_form(form, ("password",))
    try:
        body = PasswordResetConfirm(token=token, password=values.get("password", ""))
    except PydanticValidationError:
        errors = {"password": "Use at least 8 characters."}
        context = {"page": "reset", "form": {}, "token": token, "errors": errors}
        return render(request, "account/reset.html", context, status_code=422)
    try:
        await accounts.confirm_password_reset(
            uow=uow, hashing=hashing, request=body, now=clock.now()
        )
    except LinkExpired:
        return _expired(request)
    return redirect(request, "/login", message="Your password is changed: log in with it.")


@router.get("/account/password")
async def change_page(request: Request, user: PageUser) -> Response:
    """Change your password (any role)."""
    if user is None:
        return redirect(request, "/login?next=/account/password")
    return render(request, "account/password.html", {"page": "password", "form": {}})


@router.post("/account/password")
async def change_submit(
    request: Request,
    form: CheckedForm,
    uow: Uow,
    user: PageUser,
    settings: AppSettings,
    hashing: Hashing,
    clock: AppClock,
) -> Response:
    """Change it; other sessions end, this one carries on with a fresh token."""
    if user is None:
        return redirect(request, "/login?next=/account/password")
    values = clean_form(form, ("current_password", "new_password"))
    errors: dict[str, str] = {}
    try:
        body = PasswordChange(
            current_password=values.get("current_password", ""),
            new_password=values.get("new_password", ""),
        )
        session = await accounts.change_password(
            uow=uow,
            settings=settings,
            hashing=hashing,
            principal=user,
            request=body,
            now=clock.now(),
        )
    except PydanticValidationError:
        errors = {"new_password": "Use at least 8 characters; give your current one too."}
    except Unauthorized as exc:
        errors = {"current_password": exc.detail}
    if errors:
        context = {"page": "password", "form": {}, "errors": errors}
        return render(request, "account/password.html", context, status_code=422)
    response = redirect(request, "/account/password", message="Your password is changed.")
    start_session(response, settings, session["access_token"], session["expires_in"])
    return response


@router.post("/bookings/email-me")
async def email_me_submit(
    request: Request, form: CheckedForm, uow: Uow, settings: AppSettings, clock: AppClock
) -> Response:
    """E-mail a guest their upcoming bookings; the same answer whether there are any."""
    values = clean_form(form, ("my_email",))
    try:
        body = EmailRequest(email=values.get("my_email", ""))
    except PydanticValidationError:
        errors = {"my_email": "Enter the e-mail address you booked with."}
        context: dict[str, Any] = {"page": "find", "form": values, "errors": errors}
        return render(request, "patient/find.html", context, status_code=422)
    limits: accounts.AccountMailLimits = request.app.state.account_mail_limits
    try:
        limits.count(email=str(body.email), address=_client(request))
    except RateLimited as exc:
        context = {"page": "find", "form": values, "errors": {"my_email": exc.detail}}
        return render(request, "patient/find.html", context, status_code=429)
    await accounts.send_guest_bookings(
        uow=uow, settings=settings, email=str(body.email), now=clock.now()
    )
    return _done(
        request,
        "Check your e-mail",
        "If there are upcoming bookings under this address, a list with links to manage "
        "them is on its way.",
    )


def _client(request: Request) -> str:
    return client_bucket(request.client.host if request.client else None)
