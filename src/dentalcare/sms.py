"""SMS: one small transport interface and its HTTP gateway, and E.164 phone numbers
(the outbox's workers send the `sms` channel through it).

The gateway is `DENTALCARE_SMS_URL`: each message is an HTTP POST of JSON `{to, body}`
(`to` in E.164), and any 2xx answer means accepted. Without the URL there is no
transport, and no SMS message is created at all (`sms_transport` returns None).
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

import phonenumbers

from dentalcare.config import Settings

SEND_TIMEOUT_SECONDS = 10.0


class SmsFailed(Exception):
    """The gateway did not accept the message (the outbox retries it)."""


class SmsTransport(Protocol):
    """Whatever delivers a text message to a phone number."""

    async def send(self, *, to: str, body: str) -> None:
        """Deliver `body` to `to` (E.164), or raise SmsFailed."""
        ...


def to_e164(raw: str, *, region: str | None = None) -> str | None:
    """`raw` as an E.164 number (`+447700900123`), read with `region` as the default
    country; None when it is not a possible phone number."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True, slots=True)
class HttpSmsGateway:
    """POSTs `{to, body}` as JSON to the gateway's URL."""

    url: str
    timeout: float = SEND_TIMEOUT_SECONDS

    def _post(self, payload: bytes) -> None:
        request = urllib.request.Request(
            self.url,
            data=payload,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            raise SmsFailed(f"the SMS gateway answered {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SmsFailed(f"the SMS gateway cannot be reached: {exc}") from exc
        if not 200 <= status < 300:
            raise SmsFailed(f"the SMS gateway answered {status}")

    async def send(self, *, to: str, body: str) -> None:
        """Deliver one message (the blocking HTTP call runs in a worker thread)."""
        payload = json.dumps({"to": to, "body": body}).encode()
        await asyncio.to_thread(self._post, payload)


def sms_transport(settings: Settings) -> SmsTransport | None:
    """The configured transport, or None when SMS is off (no URL)."""
    if not settings.sms_url:
        return None
    return HttpSmsGateway(settings.sms_url)
