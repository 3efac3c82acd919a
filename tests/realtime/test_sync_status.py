"""GET /api/sync/health|status|stats and their /api/realtime aliases: shapes and guards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time

import asyncpg
import httpx
import pytest

from tests.fixtures.rows import make_appointment, make_dentist, make_user
from tests.fixtures.servers import serve
from tests.fixtures.waiting import wait_for
from tests.realtime.conftest import open_feed

PREFIXES = ("/api/sync", "/api/realtime")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_sync_endpoints_report_subscriptions_events_and_latency(
    prefix: str,
    database_url: str,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    patient, other = await make_user(owner_conn), await make_user(owner_conn)
    admin = await make_user(owner_conn, role="admin")
    dentist = await make_dentist(owner_conn)
    with serve(database_url) as server:
        async with (
            httpx.AsyncClient(base_url=server.base_url, timeout=10) as http,
            open_feed(server, token_for(patient)) as mine,
            open_feed(server, token_for(other)) as theirs,
            open_feed(server) as anonymous,
        ):
            await mine.subscribe("appointments")
            await mine.subscribe(f"availability:{dentist['id']}")
            await theirs.subscribe("appointments")
            await anonymous.subscribe("availability")
            await anonymous.subscribe("dentists")

            health = await http.get(f"{prefix}/health")
            assert health.status_code == 200
            body = health.json()
            assert set(body) == {"status", "service", "activeSubscriptions", "timestamp"}
            assert (body["status"], body["service"]) == ("healthy", "realtime-sync")
            assert body["activeSubscriptions"] == 5
            datetime.fromisoformat(body["timestamp"])

            assert (await http.get(f"{prefix}/status")).status_code == 401
            status = await http.get(f"{prefix}/status", headers=bearer(token_for(patient)))
            assert status.status_code == 200
            body = status.json()
            assert set(body) == {"status", "activeSubscriptions", "subscriptions", "timestamp"}
            assert body["status"] == "active" and body["activeSubscriptions"] == 2
            assert sorted(s["channelName"] for s in body["subscriptions"]) == [
                f"appointments:patient:{patient['id']}",
                f"availability:{dentist['id']}",
            ]
            assert all(s["active"] is True and s["id"] for s in body["subscriptions"])

            patient_stats = await http.get(f"{prefix}/stats", headers=bearer(token_for(patient)))
            assert patient_stats.status_code == 403
            assert (await http.get(f"{prefix}/stats")).status_code == 401

            await make_appointment(
                owner_conn,
                dentist_id=dentist["id"],
                on=date(2031, 9, 1),
                at=time(9),
                patient_id=patient["id"],
            )
            await mine.events(2)  # the booking, and its slot on the dentist's availability
            await anonymous.events(1)  # the slot on the global availability
            admin_headers = bearer(token_for(admin))

            async def delivered() -> bool:
                stats = (await http.get(f"{prefix}/stats", headers=admin_headers)).json()
                return bool(stats["events"]["delivered"] >= 3)

            await wait_for(delivered)
            stats = await http.get(f"{prefix}/stats", headers=admin_headers)
            assert stats.status_code == 200
            body = stats.json()
            assert set(body) == {
                "stats",
                "subscriptions",
                "connections",
                "events",
                "latency_ms",
                "limits",
                "timestamp",
            }
            assert set(body["limits"]) == {
                "messages_delayed",
                "messages_refused",
                "replays_reset",
                "sockets_closed",
                "sockets_refused",
            }
            assert body["stats"] == {"appointments": 2, "availability": 1, "global": 2, "total": 5}
            assert len(body["subscriptions"]) == 5
            assert body["connections"] == 3
            assert body["events"]["received"] >= 2 and body["events"]["delivered"] == 3
            latency = body["latency_ms"]
            assert set(latency) == {"p50", "p95", "p99", "max"}
            assert 0 <= latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
            assert latency["max"] < 5000
