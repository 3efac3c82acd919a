"""The service answers over real HTTP: health, the error shape, the body limit."""

from __future__ import annotations

import httpx
from alembic.script import ScriptDirectory

from dentalcare.db.migrate import alembic_config


async def test_health_reports_database_and_schema_version(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200
    head = ScriptDirectory.from_config(alembic_config("postgresql://unused")).get_current_head()
    assert response.json() == {"status": "ok", "database": "ok", "schema_version": head}
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_unknown_path_and_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFound"
    wrong_method = await client.delete("/api/health")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "MethodNotAllowed"


async def test_bodies_over_64_kib_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/health", content=b"x" * (65 * 1024))
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"
