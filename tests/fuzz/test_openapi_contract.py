"""Fuzz every operation of the app's own OpenAPI over real HTTP, as every kind of caller.

Schemathesis generates valid and invalid requests from the schema the live server
publishes and checks each response: never a 5xx, only documented status codes, the
documented content type and a body that matches the documented schema (and a 405 with a
true `Allow` header for methods an operation does not have). A bounded, derandomized
run: the same requests every time, a fixed budget per operation (see tests/fuzz/schema.py).
"""

from __future__ import annotations

import zlib
from uuid import UUID

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.fixtures.servers import RunningServer
from tests.fuzz.conftest import CALLERS, FuzzClinic
from tests.fuzz.schema import MAX_EXAMPLES, OPENAPI, schema


def aim_at_known_rows(case: schemathesis.Case, clinic: FuzzClinic) -> None:
    """Point some generated values (in the path, the query or a JSON body) at rows and
    slots that exist, so requests get past the 404 and the 422 and into the rules."""
    body = case.body if isinstance(case.body, dict) else {}
    for params in (case.path_parameters, case.query, body):
        for name, value in list(params.items()):
            known = clinic.known.get(name)
            if not known or not isinstance(value, str):
                continue
            if name.endswith("_id"):
                try:
                    seed = UUID(value).int
                except ValueError:
                    continue
            else:
                seed = zlib.crc32(value.encode())
            pick = seed % (len(known) + 1)
            if pick < len(known):
                params[name] = known[pick]


def test_published_schema_is_the_one_fuzzed(live_server: RunningServer) -> None:
    """The operations fuzzed are exactly those the running server documents."""
    published = httpx.get(f"{live_server.base_url}/openapi.json", timeout=10)
    assert published.status_code == 200
    assert published.json() == OPENAPI
    assert len(list(schema.get_all_operations())) >= 30


@schema.parametrize()
@pytest.mark.parametrize("caller", CALLERS)
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract(
    case: schemathesis.Case, caller: str, fuzz_clinic: FuzzClinic
) -> None:
    """No 5xx; status, content type and body as documented."""
    aim_at_known_rows(case, fuzz_clinic)
    case.call_and_validate(base_url=fuzz_clinic.base_url, headers=fuzz_clinic.headers[caller])
