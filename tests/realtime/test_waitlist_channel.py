"""The `waitlist` channel: staff follow every entry and offer change, a patient their own
entries', live and replayed; refused to anonymous sockets and dentists."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.clinic import Clinic
from tests.fixtures.servers import RunningServer
from tests.realtime.conftest import open_feed

STANDARD = "00000000-0000-4000-8000-000000000001"


def _token(clinic: Clinic, who: str) -> str:
    return clinic.auth(who)["Authorization"].removeprefix("Bearer ")


async def test_staff_follow_the_waitlist_live_and_dentists_may_not(
    clinic: Clinic, live_server: RunningServer
) -> None:
    async with open_feed(live_server, _token(clinic, "dentist_x")) as feed:
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


async def _join(clinic: Clinic, who: str, dentist: str) -> dict[str, Any]:
    response = await clinic.http.post(
        "/api/waitlist",
        json={
            "treatment_type_id": STANDARD,
            "dentist_id": str(clinic.dentists[dentist]["id"]),
            "earliest_date": clinic.day.isoformat(),
            "latest_date": clinic.day.isoformat(),
            "times": ["morning"],
        },
        headers=clinic.auth(who),
    )
    assert response.status_code == 201, response.text
    joined: dict[str, Any] = response.json()
    return joined


def _entry_of(event: dict[str, Any]) -> str:
    return str(event["record"]["entry_id"])


async def test_a_patient_follows_their_own_entries_offers_and_nobody_elses(
    clinic: Clinic, live_server: RunningServer
) -> None:
    """Issue 14: the offer of a freed slot reaches its patient's open pages live; another
    patient on the channel at the same time hears nothing of it, live or replayed."""
    mine = await _join(clinic, "patient_a", "x")
    theirs = await _join(clinic, "patient_b", "y")
    async with open_feed(live_server) as anonymous:
        await anonymous.send({"type": "subscribe", "ref": 1, "channel": "waitlist"})
        refused = await anonymous.recv()
        assert refused["type"] == "error" and refused["error"] == "Unauthorized", refused
    async with open_feed(live_server, _token(clinic, "dentist_x")) as dentist:
        await dentist.send({"type": "subscribe", "ref": 1, "channel": "waitlist"})
        refused = await dentist.recv()
        assert refused["type"] == "error" and refused["error"] == "Forbidden", refused
    async with (
        open_feed(live_server, _token(clinic, "patient_a")) as a,
        open_feed(live_server, _token(clinic, "patient_b")) as b,
        open_feed(live_server, _token(clinic, "admin")) as staff,
    ):
        head = (await a.subscribe("waitlist"))["head"]
        await b.subscribe("waitlist")
        await staff.subscribe("waitlist")
        # Somebody else's booking (a guest's, 10:00 with Dr X) is cancelled: A is offered it.
        cancelled = await clinic.http.delete(
            f"/api/appointments/{clinic.appointments['guest']['id']}",
            headers=clinic.auth("admin"),
        )
        assert cancelled.status_code == 200, cancelled.text
        seen = await a.events_until(lambda e: e["record"]["kind"] == "offer")
        assert {_entry_of(e) for e in seen} == {mine["id"]}
        [offer] = [e for e in seen if e["record"]["kind"] == "offer"]
        assert offer["channel"] == "waitlist" and offer["record"]["status"] == "live"
        slot = offer["record"]["record"]
        assert slot["appointment_time"] == "10:00:00" or slot["appointment_time"].startswith(
            "10:00"
        )
        assert slot["dentist_id"] == str(clinic.dentists["x"]["id"])
        for event in seen:
            record = event["record"]["record"]
            assert not {"patient_email", "patient_phone", "token_hash", "created_by"} & set(record)
        # Staff hear the same offer.
        staff_seen = await staff.events_until(lambda e: e["seq"] == offer["seq"])
        assert offer["seq"] in {e["seq"] for e in staff_seen}
        # B hears nothing of A's: B's own next event comes first (the channel keeps order).
        left = await clinic.http.delete(
            f"/api/waitlist/{theirs['id']}", headers=clinic.auth("patient_b")
        )
        assert left.status_code == 200, left.text
        [first] = await b.events(1)
        assert _entry_of(first) == theirs["id"] and first["record"]["status"] == "cancelled"
        assert first["seq"] > offer["seq"]
        # ...and A hears nothing of B's leaving: A's next event is A's own.
        declined = await clinic.http.post(
            f"/api/waitlist/{mine['id']}/decline", headers=clinic.auth("patient_a")
        )
        assert declined.status_code == 204, declined.text
        after = await a.events_until(lambda e: e["record"]["status"] == "waiting")
        assert {_entry_of(e) for e in after} == {mine["id"]}
        last = after[-1]["seq"]
        staff_all = await staff.events_until(lambda e: e["seq"] >= last)
        assert {mine["id"], theirs["id"]} <= {_entry_of(e) for e in staff_all}
    # Replay with `since`: each patient gets their own events only; staff get all.
    async with (
        open_feed(live_server, _token(clinic, "patient_a")) as a,
        open_feed(live_server, _token(clinic, "patient_b")) as b,
        open_feed(live_server, _token(clinic, "admin")) as staff,
    ):
        await a.subscribe("waitlist", since=head)
        replayed_a = await a.events_until(lambda e: e["seq"] == last)
        assert {_entry_of(e) for e in replayed_a} == {mine["id"]}
        assert [e["seq"] for e in replayed_a] == [e["seq"] for e in seen + after]
        await b.subscribe("waitlist", since=head)
        [replayed_b] = await b.events(1)
        assert _entry_of(replayed_b) == theirs["id"]
        with pytest.raises(TimeoutError):
            await b.recv(within=1.0)
        await staff.subscribe("waitlist", since=head)
        replayed_staff = await staff.events_until(lambda e: e["seq"] == last)
        assert {mine["id"], theirs["id"]} == {_entry_of(e) for e in replayed_staff}
