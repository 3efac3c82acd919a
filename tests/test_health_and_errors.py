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


async def test_a_mistyped_page_is_an_html_404_and_the_api_keeps_its_json(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/dentistz", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and 'href="/"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for path in ("/api/nothing-here", "/api", "/static/nothing.js", "/openapi.jsonx/x"):
        machine = await client.get(path)
        assert machine.status_code == 404, path
        if path.startswith(("/api", "/openapi")):
            assert machine.json()["error"] == "NotFound", path
    posted = await client.post("/dentistz")
    assert posted.status_code in (404, 405) and posted.json()["error"] in (
        "NotFound",
        "MethodNotAllowed",
    )
