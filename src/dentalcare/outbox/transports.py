"""How e-mail leaves: SMTP (aiosmtplib), or — in development without an SMTP server —
captured into the message's row for /admin/mail. SMS leaves through dentalcare.sms."""

from __future__ import annotations

from email.message import Message
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

SMTP_SCHEMES = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}


class MailTransport(Protocol):
    """Sends one e-mail; returns what was captured instead of sent (None: it was sent)."""

    async def send(self, mail: Message) -> str | None: ...

    async def close(self) -> None: ...


class CaptureTransport:
    """Development without SMTP: the e-mail is kept (the admin reads it at /admin/mail)."""

    async def send(self, mail: Message) -> str | None:
        return mail.as_string(maxheaderlen=78)  # folded, as the SMTP transport sends it

    async def close(self) -> None:
        return None


class SmtpTransport:
    """One SMTP connection kept open per worker, opened again after an error.

    `url`: smtp://[user:password@]host[:port] (plain, or STARTTLS when the server offers
    it), smtps:// (TLS from the start), smtp+starttls:// (STARTTLS required)."""

    def __init__(self, url: str, *, timeout: float = 30) -> None:
        parts = urlsplit(url)
        if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
            raise ValueError("DENTALCARE_SMTP_URL must be smtp://, smtps:// or smtp+starttls://")
        self.hostname = parts.hostname
        self.port = parts.port or SMTP_SCHEMES[parts.scheme]
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.use_tls = parts.scheme == "smtps"
        self.start_tls: bool | None = True if parts.scheme == "smtp+starttls" else None
        if parts.scheme == "smtps":
            self.start_tls = False
        self.timeout = timeout
        self._client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        client = aiosmtplib.SMTP(
            hostname=self.hostname,
            port=self.port,
            use_tls=self.use_tls,
            start_tls=self.start_tls,
            timeout=self.timeout,
            username=self.username,
            password=self.password,
        )
        await client.connect()
        self._client = client
        return client

    async def send(self, mail: Message) -> str | None:
        client = await self._connected()
        try:
            await client.send_message(mail)
        except BaseException:
            await self.close()
            raise
        return None

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
