"""The staff's `waitlist` channel: entry and offer changes, live; refused to others."""

from __future__ import annotations

from tests.fixtures.clinic import Clinic
from tests.fixtures.servers import RunningServer
from tests.realtime.conftest import open_feed

STANDARD = "00000000-0000-4000-8000-000000000001"


def _token(clinic: Clinic, who: str) -> str:
    return clinic.auth(who)["Authorization"].removeprefix("Bearer ")


async def test_staff_follow_the_waitlist_live_and_nobody_else_may(
    clinic: Clinic, live_server: RunningServer
) -> None:
    async with open_feed(live_server, _token(clinic, "patient_a")) as feed:
        await feed.send({"type": "subscribe", "ref": 1, "channel": "waitlist"})
        refused = await feed.recv()
        assert refused["type"] == "error" and refused["error"] == "Forbidden", refused
    async with open_feed(live_server, _token(clinic, "admin")) as feed:
        await feed.subscribe("waitlist")
        joined = await clinic.http.post(
            "/api/waitlist",
            json={
                "treatment_type_id": STANDARD,
                "earliest_date": clinic.day.isoformat(),
                "latest_date": clinic.day.isoformat(),
                "patient_name": "Walter Wait",
                "patient_email": "walter@example.com",
                "patient_phone": "+1 555 0111",
            },
        )
        assert joined.status_code == 201
        [event] = await feed.events(1)
        assert event["channel"] == "waitlist" and event["table"] == "waitlist"
        record = event["record"]
        assert record["kind"] == "entry" and record["entry_id"] == joined.json()["id"]
        assert record["status"] == "waiting"
        assert record["record"]["patient_name"] == "Walter Wait"
        assert "patient_email" not in record["record"] and "patient_phone" not in record["record"]
