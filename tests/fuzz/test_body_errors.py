"""A body over 64 KiB is 413 and malformed JSON is 400, on every operation that takes a
body, as documented in OpenAPI, and neither writes anything."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import schemathesis

from tests.fuzz.conftest import FuzzClinic
from tests.fuzz.schema import OPENAPI, schema

LIMIT = 64 * 1024
COUNTED = ("users", "dentists", "appointments", "dentist_availability", "availability_exceptions")
OVERSIZED = b'{"text": "' + b"x" * (LIMIT + 1) + b'"}'
MALFORMED = {"truncated": b'{"name": ', "not JSON": b"not json", "not UTF-8": b"\xff\xfe{}"}

BODY_OPERATIONS = [
    (method.upper(), path)
    for path, item in OPENAPI["paths"].items()
    for method, operation in item.items()
    if "requestBody" in operation
]


async def _chunks(data: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _row_counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in COUNTED}


def _case(method: str, path: str, clinic: FuzzClinic) -> schemathesis.Case:
    operation = schema[path][method]
    path_parameters = {
        p["name"]: clinic.known[p["name"]][0]
        for p in operation.definition.raw.get("parameters", ())
        if p["in"] == "path"
    }
    return operation.Case(path_parameters=path_parameters, media_type="application/json")


def _as_sent(response: httpx.Response, body: bytes) -> httpx.Response:
    """The response with a request the checks can read back (a streamed one cannot be)."""
    request = httpx.Request(response.request.method, response.request.url, content=body)
    copy = httpx.Response(
        response.status_code, headers=response.headers, content=response.content, request=request
    )
    copy.elapsed = response.elapsed
    return copy


def test_the_writes_are_all_here() -> None:
    """Every write the contract names takes a body and is tested below."""
    assert {
        ("POST", "/api/auth/register"),
        ("POST", "/api/auth/login"),
        ("POST", "/api/dentists"),
        ("PATCH", "/api/dentists/{dentist_id}"),
        ("PUT", "/api/availability/{dentist_id}"),
        ("POST", "/api/availability/{dentist_id}/exceptions"),
        ("POST", "/api/appointments"),
        ("PUT", "/api/appointments/{appointment_id}"),
        ("POST", "/api/chat/sessions/{session_id}/messages"),
    } <= set(BODY_OPERATIONS)


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
async def test_oversized_and_malformed_bodies_are_refused_as_documented(
    method: str, path: str, fuzz_clinic: FuzzClinic, owner_conn: asyncpg.Connection
) -> None:
    """413 whether the size is announced or streamed, 400 for bad JSON; nothing written."""
    case = _case(method, path, fuzz_clinic)
    before = await _row_counts(owner_conn)
    headers = {"Content-Type": "application/json", **fuzz_clinic.headers["admin"]}
    attempts: list[tuple[str, bytes, bytes | AsyncIterator[bytes], int, str]] = [
        ("over 64 KiB, Content-Length", OVERSIZED, OVERSIZED, 413, "PayloadTooLarge"),
        ("over 64 KiB, chunked", OVERSIZED, _chunks(OVERSIZED), 413, "PayloadTooLarge"),
    ]
    attempts += [(name, raw, raw, 400, "BadRequest") for name, raw in MALFORMED.items()]
    async with httpx.AsyncClient(base_url=fuzz_clinic.base_url, timeout=30) as http:
        for name, raw, content, status, error in attempts:
            response = await http.request(
                method, case.formatted_path, content=content, headers=headers
            )
            assert response.status_code == status, (name, response.text)
            body = response.json()
            assert body["error"] == error and body["detail"], (name, body)
            case.validate_response(_as_sent(response, raw))
    assert await _row_counts(owner_conn) == before
