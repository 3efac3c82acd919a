"""One outbox worker as a process of its own (for the kill -9 test): the database URL and
the SMTP URL as arguments; it delivers until it is killed."""

from __future__ import annotations

import asyncio
import sys

from dentalcare.db.pool import Database
from dentalcare.outbox.transports import SmtpTransport
from dentalcare.outbox.worker import DeliveryPolicy, OutboxWorker


async def main(database_url: str, smtp_url: str) -> None:
    db = await Database.open(database_url, app_role="dentalcare_app", min_size=1, max_size=2)
    worker = OutboxWorker(
        unit_of_work=db.unit_of_work,
        mail=SmtpTransport(smtp_url, timeout=300),
        sms=None,
        policy=DeliveryPolicy(
            mail_from="clinic@example.com", batch=1, lease_seconds=1.0, poll_seconds=0.05
        ),
    )
    print("ready", flush=True)
    while True:
        if await worker.run_once() == 0:
            await asyncio.sleep(0.05)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
