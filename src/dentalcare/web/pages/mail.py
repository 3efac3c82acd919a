"""/admin/mail: the outbox as the admin reads it, with the e-mails captured in
development (no SMTP server) shown as they would arrive."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from dentalcare.db.deps import Uow
from dentalcare.errors import NotFound
from dentalcare.messages import service as messages
from dentalcare.web.errors import not_found
from dentalcare.web.pages.directory import parse_id
from dentalcare.web.session import AdminPage
from dentalcare.web.templating import render

router = APIRouter()

# The HTML part is the e-mail's own document: inline styles (as mail clients need), no
# scripts, nothing loaded from anywhere, never framed.
MAIL_HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"
)


@router.get("/admin/mail")
async def mail_page(request: Request, user: AdminPage, uow: Uow) -> Response:
    """The newest messages of the outbox."""
    listed = await messages.recent_messages(uow=uow)
    return render(request, "admin/mail.html", {"page": "admin-mail", "messages": listed})


@router.get("/admin/mail/{message_id}")
async def mail_message(request: Request, message_id: str, user: AdminPage, uow: Uow) -> Response:
    """One message: its fields and, if captured, the e-mail."""
    try:
        shown = await messages.captured_mail(uow=uow, message_id=parse_id(message_id))
    except NotFound:
        raise not_found("No such message.") from None
    return render(request, "admin/mail_message.html", {"page": "admin-mail", "message": shown})


@router.get("/admin/mail/{message_id}/html")
async def mail_html(request: Request, message_id: str, user: AdminPage, uow: Uow) -> Response:
    """The captured e-mail's HTML part, as a mail client would show it."""
    try:
        shown = await messages.captured_mail(uow=uow, message_id=parse_id(message_id))
    except NotFound:
        raise not_found("No such message.") from None
    if shown["mail"] is None:
        raise not_found("This message was not captured here (it went by SMTP).")
    return HTMLResponse(
        shown["mail"]["html"],
        headers={"Content-Security-Policy": MAIL_HTML_POLICY, "Cache-Control": "no-store"},
    )
