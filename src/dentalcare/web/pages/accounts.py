"""/login, /register, /logout and the short-lived token the pages' realtime socket uses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from dentalcare.auth import service as accounts
from dentalcare.auth.deps import Hashing
from dentalcare.auth.schemas import LoginRequest, RegisterRequest
from dentalcare.db.deps import AppSettings, Uow
from dentalcare.errors import AlreadyExists, RateLimited, ServiceUnavailable, Unauthorized
from dentalcare.ratelimit import Limits
from dentalcare.web import forms, phones
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.session import HOME_BY_ROLE, PageUser, end_session, start_session
from dentalcare.web.templating import redirect, render
from dentalcare.web.views import clean_form

router = APIRouter()


def safe_next(value: Any) -> str | None:
    """A local path to return to after logging in, or None."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(ord(c) < 32 for c in value):
        return None
    return value


def _home(role: str) -> str:
    return HOME_BY_ROLE.get(role, "/")


@router.get("/login")
async def login_page(request: Request, user: PageUser, next: str | None = None) -> Response:
    """The login form (already logged in: straight to your home page)."""
    if user is not None:
        return redirect(request, safe_next(next) or _home(user.role))
    return render(request, "login.html", {"page": "login", "form": {"next": safe_next(next) or ""}})


@router.post("/login")
async def login_submit(
    request: Request,
    form: CheckedForm,
    uow: Uow,
    settings: AppSettings,
    limits: Limits,
    hashing: Hashing,
) -> Response:
    """Check the password, set the session cookie and go to the user's home page."""
    values = clean_form(form, ("email", "password", "next"))
    context: dict[str, Any] = {"page": "login", "form": values}
    try:
        body = forms.parse(LoginRequest, {k: values.get(k, "") for k in ("email", "password")})
        session = await accounts.login(
            uow=uow, settings=settings, throttle=limits, hashing=hashing, request=body
        )
    except forms.FormInvalid as exc:
        return render(request, "login.html", {**context, "errors": exc.errors}, status_code=422)
    except (Unauthorized, RateLimited, ServiceUnavailable) as exc:
        errors = {"__all__": exc.detail}
        return render(request, "login.html", {**context, "errors": errors}, status_code=422)
    role = session["user"]["role"]
    response = redirect(request, safe_next(values.get("next")) or _home(role))
    start_session(response, settings, session["access_token"], session["expires_in"])
    return response


@router.get("/register")
async def register_page(request: Request, user: PageUser, next: str | None = None) -> Response:
    """The sign-up form for patients."""
    if user is not None:
        return redirect(request, _home(user.role))
    return render(
        request, "register.html", {"page": "register", "form": {"next": safe_next(next) or ""}}
    )


@router.post("/register")
async def register_submit(
    request: Request,
    form: CheckedForm,
    uow: Uow,
    settings: AppSettings,
    limits: Limits,
    hashing: Hashing,
) -> Response:
    """Create a patient account and log it in."""
    values = clean_form(form, ("full_name", "email", "phone", "password", "next"))
    context: dict[str, Any] = {"page": "register", "form": values}
    try:
        data = {k: values.get(k, "") for k in ("full_name", "email", "password")}
        if "phone" in values:
            data["phone"] = values["phone"]
        body = forms.parse(RegisterRequest, data, phone_region=phones.clinic_region(settings))
        session = await accounts.register(
            uow=uow, settings=settings, throttle=limits, hashing=hashing, request=body
        )
    except forms.FormInvalid as exc:
        return render(request, "register.html", {**context, "errors": exc.errors}, status_code=422)
    except AlreadyExists as exc:
        errors = {"email": exc.detail + " Log in instead?"}
        return render(request, "register.html", {**context, "errors": errors}, status_code=422)
    except (RateLimited, ServiceUnavailable) as exc:
        errors = {"__all__": exc.detail}
        return render(request, "register.html", {**context, "errors": errors}, status_code=422)
    name = session["user"]["full_name"]
    response = redirect(
        request, safe_next(values.get("next")) or "/my/appointments", message=f"Welcome, {name}!"
    )
    start_session(response, settings, session["access_token"], session["expires_in"])
    return response


@router.post("/logout")
async def logout(
    request: Request, _form: CheckedForm, uow: Uow, user: PageUser, settings: AppSettings
) -> Response:
    """End the session: its cookie's token and the page sockets' tokens are revoked."""
    if user is not None:
        await accounts.logout(uow=uow, settings=settings, principal=user)
    response = redirect(request, "/", message="You are logged out. See you soon!")
    end_session(response, settings)
    return response


@router.post("/session/realtime-token")
async def realtime_token(
    request: Request, _form: CheckedForm, user: PageUser, settings: AppSettings
) -> Response:
    """A short-lived access token for this session's realtime socket (JSON): the session
    cookie stays HttpOnly; realtime.js renews the token with an `auth` message in time."""
    if user is None:
        return JSONResponse(
            {"error": "Unauthorized", "detail": "Log in to follow your appointments live."},
            status_code=401,
        )
    body = accounts.socket_token(settings=settings, principal=user)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
