"""Directory search finds what patients type: names, specialties, and what the bio says."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.fixtures.rows import make_dentist

PROFILES = [
    ("Dr Sarah Smith", "General Dentistry", "Family dentistry, check-ups and fillings."),
    ("Dr Raj Patel", "Orthodontics", "Braces and clear aligners for all ages."),
    ("Dr Emily Chen", "Pediatric Dentistry", "Gentle care for children and anxious patients."),
    ("Dr Marcus Johnson", "Oral Surgery", "Extractions, wisdom teeth and implants."),
    ("Dr Sofia Garcia", "Endodontics", "Root canal treatment and dental pain."),
]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("Smith", {"Dr Sarah Smith"}),
        ("Dr Smith", {"Dr Sarah Smith"}),
        ("dr. smith", {"Dr Sarah Smith"}),
        ("braces", {"Dr Raj Patel"}),
        ("root canal", {"Dr Sofia Garcia"}),
        ("implants", {"Dr Marcus Johnson"}),
        ("children", {"Dr Emily Chen"}),
        ("kids", {"Dr Emily Chen"}),
        ("wisdom teeth", {"Dr Marcus Johnson"}),
        ("orthodontics", {"Dr Raj Patel"}),
        ("fillings", {"Dr Sarah Smith"}),
        ("smith braces", set()),
        ("veneers", set()),
    ],
)
async def test_search_covers_names_specialties_and_bios(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, search: str, expected: set[str]
) -> None:
    for name, specialization, bio in PROFILES:
        dentist = await make_dentist(owner_conn, name=name, specialization=specialization)
        await owner_conn.execute("UPDATE dentists SET bio = $2 WHERE id = $1", dentist["id"], bio)
    response = await client.get("/api/dentists", params={"search": search})
    assert response.status_code == 200
    assert {d["name"] for d in response.json()} == expected
