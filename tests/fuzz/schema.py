"""The app's OpenAPI, loaded into schemathesis with the run's fixed configuration.

Built from the application object because pytest collects the operations before any
server runs; test_published_schema_is_the_one_fuzzed proves it is the document the live
server publishes at /openapi.json.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from tests.fixtures.servers import make_app

MAX_EXAMPLES = 10
SEED = 20261123

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"mode": "all", "deterministic": True, "max-examples": MAX_EXAMPLES},
        "checks": {
            # Valid by the schema is not bookable: the slot must be free and ahead, schedule
            # windows ordered, the time zone real. The app refuses those with 409/422 by rule.
            "positive_data_acceptance": {"enabled": False},
            # Pydantic's lax mode reads 3.0 as 3, false as 0 and "0" as 1970-01-01; the
            # contract does not promise strict JSON typing, so such input may be accepted.
            "negative_data_rejection": {"enabled": False},
        },
        "operations": [
            {
                # /api/appointments/lookup is also /api/appointments/{id} with id "lookup":
                # PUT and DELETE there answer as for any malformed id (401, 404 or 422).
                "include-path": "/api/appointments/lookup",
                "checks": {"unsupported_method": {"enabled": False}},
            }
        ],
    }
)

_UNUSED_DB = "postgresql://unused/unused"
OPENAPI: dict[str, Any] = make_app(_UNUSED_DB).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG)
