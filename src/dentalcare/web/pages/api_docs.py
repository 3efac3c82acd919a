"""/docs: the OpenAPI reference in Swagger UI, served from our own vendored files.

FastAPI's built-in page loads Swagger UI from a CDN (a blank page offline) and starts it
with an inline script; this one needs nothing from outside the server and runs under the
portals' Content-Security-Policy.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from dentalcare.web.templating import PAGE_HEADERS, static_url

router = APIRouter()


@router.get("/docs")
async def api_docs() -> HTMLResponse:
    """The interactive API reference (reads /openapi.json)."""
    page = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>DentalCareConnect API reference</title>
  <link rel="icon" href="{static_url("img/favicon.svg")}" type="image/svg+xml">
  <link rel="stylesheet" href="{static_url("vendor/swagger-ui/swagger-ui.css")}">
</head>
<body>
  <main id="swagger-ui" data-openapi-url="/openapi.json"></main>
  <script src="{static_url("vendor/swagger-ui/swagger-ui-bundle.js")}"></script>
  <script src="{static_url("js/api-docs.js")}"></script>
</body>
</html>
"""
    return HTMLResponse(page, headers=PAGE_HEADERS)
