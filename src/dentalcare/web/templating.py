"""Jinja2 rendering with autoescaping, the page chrome's context, flash messages, headers."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dentalcare.config import Settings
from dentalcare.vocabulary import ACTIVE
from dentalcare.web import filters, localtime, phones, signing
from dentalcare.web.chrome import chrome_of
from dentalcare.web.csrf import csrf_token, remember_nonce
from dentalcare.web.session import clear_cookie, end_session, set_cookie
from dentalcare.web.views import status_actions

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
FLASH_COOKIE = "dc_flash"

# No inline script or style anywhere: every script and stylesheet is a file under /static.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@cache
def static_url(path: str) -> str:
    """The URL of a static file, with a content hash so browsers never run a stale copy."""
    digest = hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:10]
    return f"/static/{path}?v={digest}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = static_url
    env.globals["actions_for"] = status_actions
    env.globals["active_statuses"] = ACTIVE
    env.filters.update(filters.FILTERS)
    return env


ENV = _environment()


def settings_of(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


@lru_cache(maxsize=64)
def _zone_labels(zone_names: tuple[str, ...], today: date) -> str:
    return json.dumps(localtime.offset_labels(zone_names, today), separators=(",", ":"))


def zone_labels(values: dict[str, Any], settings: Settings) -> str:
    """The offset → zone name map app.js labels live times with (`DC.when`), as JSON: the
    clinic's zone and those of the page's dentists."""
    dentist_zones = values.get("dentist_zones") or {}
    names = dict.fromkeys([settings.clinic_timezone, *sorted(set(dentist_zones.values()))])
    return _zone_labels(tuple(names), datetime.now(UTC).date())


def _take_flash(request: Request) -> dict[str, str] | None:
    data = signing.unsign(settings_of(request), "flash", request.cookies.get(FLASH_COOKIE))
    if data is None:
        return None
    try:
        value = json.loads(data)
        return {"message": str(value["m"]), "kind": str(value["k"])}
    except (ValueError, KeyError, TypeError):
        return None


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page or fragment with the chrome's context, cookies and security headers."""
    settings = settings_of(request)
    flash = _take_flash(request)
    values: dict[str, Any] = {
        "request": request,
        "user": getattr(request.state, "page_user", None),
        "csrf_token": csrf_token(request, settings),
        "flash": flash,
        "page": "",
        "errors": {},
        "form": {},
        # Times and phone numbers as the filters `clock` and `phone` show them.
        "clinic_timezone": settings.clinic_timezone,
        "phone_region": phones.clinic_region(settings),
        "phone_hint": phones.hint(phones.clinic_region(settings)),
        "phone_pattern": phones.PATTERN,
        "dentist_zones": {},
        "clinic": chrome_of(request),
    }
    values.update(context or {})
    values["zone_labels"] = zone_labels(values, settings)
    html = ENV.get_template(template).render(values)
    response = HTMLResponse(
        html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})}
    )
    remember_nonce(request, response, settings)
    if flash is not None:
        clear_cookie(response, settings, FLASH_COOKIE)
    if getattr(request.state, "drop_session", False):
        end_session(response, settings)
    return response


def is_htmx(request: Request) -> bool:
    """Whether htmx sent the request (it then wants a fragment or a trigger)."""
    return request.headers.get("hx-request") == "true"


def toast_header(message: str, kind: str = "success", *, changed: bool = False) -> str:
    """An HX-Trigger header value that shows a toast (and asks live lists to refresh)."""
    events: dict[str, Any] = {"dc:toast": {"message": message, "kind": kind}}
    if changed:
        events["dc:changed"] = {}
    return json.dumps(events)


def toast_response(message: str, *, kind: str = "success", status_code: int = 204) -> Response:
    """An htmx reply that only shows a toast (htmx reads HX-Trigger on error statuses too)."""
    return Response(
        status_code=status_code,
        headers={"HX-Trigger": toast_header(message, kind), "HX-Reswap": "none"},
    )


def set_flash(response: Response, request: Request, message: str, kind: str = "success") -> None:
    """Show `message` as a toast on the next page."""
    data = json.dumps({"m": message, "k": kind}).encode()
    set_cookie(
        response,
        settings_of(request),
        FLASH_COOKIE,
        signing.sign(settings_of(request), "flash", data),
        max_age=120,
    )


def action_done(
    request: Request, message: str, *, redirect_to: str, kind: str = "success"
) -> Response:
    """The reply to a successful action: a toast and a refresh for htmx, else a redirect."""
    if is_htmx(request):
        return Response(
            status_code=204,
            headers={"HX-Trigger": toast_header(message, kind, changed=True)},
        )
    return redirect(request, redirect_to, message=message, kind=kind)


def redirect(
    request: Request, url: str, *, message: str | None = None, kind: str = "success"
) -> Response:
    """A 303 redirect (HX-Redirect for htmx), optionally with a flash message."""
    response: Response
    if is_htmx(request):
        response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if message:
        set_flash(response, request, message, kind)
    return response
