"""Log in over REST and print live appointment events until Ctrl-C.

    python -m dentalcare.client.example --url http://127.0.0.1:8000 \\
        --email admin@example.com --password demo-admin-2026
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import urllib.error
import urllib.request
from typing import Any

from dentalcare.client import RealtimeError, RealtimeEvent, RealtimeSyncClient
from dentalcare.client.callbacks import Callback


def login(base_url: str, email: str, password: str) -> dict[str, Any]:
    """POST /api/auth/login; the response body (`access_token`, `user`)."""
    request = urllib.request.Request(
        base_url.rstrip("/") + "/api/auth/login",
        data=json.dumps({"email": email, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("detail", exc.reason)
        raise SystemExit(f"login failed ({exc.code}): {detail}") from exc
    return body


def describe(appointment: dict[str, Any]) -> str:
    """One line about an appointment."""
    return (
        f"{appointment.get('booking_reference')} {appointment.get('appointment_date')} "
        f"{appointment.get('appointment_time')} {appointment.get('dentist_name')} / "
        f"{appointment.get('patient_name')} [{appointment.get('status')}, "
        f"{appointment.get('booking_source')}]"
    )


async def follow(base_url: str, email: str, password: str, seconds: float | None) -> None:
    """Log in, subscribe to the appointments this user may see, print what happens."""
    session = await asyncio.to_thread(login, base_url, email, password)
    user = session["user"]
    print(f"logged in as {user['email']} ({user['role']})", flush=True)

    def created(appointment: dict[str, Any]) -> None:
        print("created  ", describe(appointment), flush=True)

    def updated(appointment: dict[str, Any], before: dict[str, Any] | None) -> None:
        was = (before or {}).get("status")
        print(f"updated   {describe(appointment)} (was {was})", flush=True)

    def deleted(appointment: dict[str, Any]) -> None:
        print("deleted  ", describe(appointment), flush=True)

    def slots(event: RealtimeEvent) -> None:
        record = event.record or {}
        print(f"slot {event.op:8} {record.get('date')} {record.get('time')}", flush=True)

    def reset(channel: str) -> None:
        print(f"history expired on {channel}: refetch over REST", flush=True)

    client = RealtimeSyncClient(base_url, session["access_token"], on_reset=reset)
    async with client:
        callbacks: dict[str, Callback] = {
            "on_created": created,
            "on_updated": updated,
            "on_deleted": deleted,
        }
        if user["role"] == "admin":
            await client.subscribe_to_all_appointments(**callbacks)
        else:
            await client.subscribe_to_appointments(user["id"], user["role"], **callbacks)
        if user.get("dentist_id"):
            await client.subscribe_to_availability(user["dentist_id"], on_changed=slots)
        client.start_heartbeat(25)
        names = ", ".join(sub.name for sub in client.get_active_subscriptions())
        print(f"listening on {names} (Ctrl-C to stop)", flush=True)
        if seconds is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(seconds)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        asyncio.run(follow(args.url, args.email, args.password, args.seconds))
    except RealtimeError as exc:
        print(f"realtime error: {exc}")
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
