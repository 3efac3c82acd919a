"""The handlers that make every failure answer with {"error","detail"}, and say so in OpenAPI."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dentalcare.db.errors import BAD_INPUT, DATABASE_DOWN
from dentalcare.errors import (
    BadRequest,
    DentalCareError,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    ValidationError,
    responses,
)

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}


def error_response(error: DentalCareError) -> JSONResponse:
    """Render an error as the contract's JSON body."""
    return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers())


def _validation_error(exc: RequestValidationError) -> DentalCareError:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return BadRequest("The request body is not valid JSON.")
    fields = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in errors
    ]
    places = {f["loc"][0] if f["loc"] else "body" for f in fields}
    if places == {"path"}:
        return NotFound("No such resource.")
    if "body" not in places:
        # Bad query parameters (an unknown status, a malformed date, limit over 200).
        first = fields[0]
        return BadRequest(f"{'.'.join(first['loc'][1:])}: {first['msg']}", fields=fields)
    first = fields[0] if fields else {"loc": [], "msg": "invalid"}
    where = ".".join(p for p in first["loc"] if p not in ("body", "query", "path"))
    detail = f"{where}: {first['msg']}" if where else str(first["msg"])
    return ValidationError(detail, fields=fields)


def _app_wide_errors(operation: dict[str, Any]) -> list[type[DentalCareError]]:
    """The errors the handlers below and the body limit give any operation of this shape."""
    located = {parameter.get("in") for parameter in operation.get("parameters", ())}
    errors: list[type[DentalCareError]] = [ServiceUnavailable]
    if "path" in located:
        errors.append(NotFound)
    if "query" in located:
        errors.append(BadRequest)
    if "requestBody" in operation:
        errors += [BadRequest, PayloadTooLarge, ValidationError]
    return errors


def _document_operation(operation: dict[str, Any]) -> None:
    declared: dict[str, Any] = operation.setdefault("responses", {})
    # FastAPI's own 422 has a shape this app never sends (see _validation_error).
    if "HTTPValidationError" in repr(declared.get("422")):
        del declared["422"]
    for status, entry in responses(*_app_wide_errors(operation)).items():
        current = declared.setdefault(str(status), entry)
        if current is not entry and current.get("content") == entry["content"]:
            names = current["description"].split(", ") + entry["description"].split(", ")
            current["description"] = ", ".join(dict.fromkeys(n for n in names if n))


def document_app_wide_errors(app: FastAPI) -> None:
    """Declare in OpenAPI, on every operation, the errors that no endpoint raises itself:
    503 when the database is down, 404 for a malformed path id, 400 for bad query values
    or malformed JSON, 413 for a body over the limit, 422 for an invalid body."""
    generate = app.openapi
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI's, cached until the routes change
        if not documented or documented[0] is not schema:
            for path_item in schema.get("paths", {}).values():
                for operation in path_item.values():
                    _document_operation(operation)
            components = schema.get("components", {}).get("schemas", {})
            if "HTTPValidationError" not in repr(schema["paths"]):
                components.pop("HTTPValidationError", None)
                components.pop("ValidationError", None)
            documented[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _template_matches(template: str, path: str) -> bool:
    expected, actual = template.split("/"), path.split("/")
    return len(expected) == len(actual) and all(
        want == got or (want.startswith("{") and want.endswith("}") and got != "")
        for want, got in zip(expected, actual, strict=True)
    )


def documented_methods(app: FastAPI, path: str) -> list[str]:
    """The methods OpenAPI documents for `path` (a concrete path wins over templated ones,
    as in OpenAPI's own matching): what a 405's `Allow` header lists."""
    paths: dict[str, dict[str, Any]] = app.openapi().get("paths", {})
    items = (
        [paths[path]]
        if path in paths
        else [i for t, i in paths.items() if _template_matches(t, path)]
    )
    return sorted({method.upper() for item in items for method in item if method in _METHODS})


def http_error_response(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's own HTTP errors (unknown path, wrong method) in the error shape."""
    cls = _HTTP_CODES.get(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
    if cls is NotFound and detail == "Not Found":
        detail = "No such resource."
    if cls is None:
        return JSONResponse(
            {"error": "HTTPError", "detail": detail},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
    response = error_response(cls(detail))
    # Keep what Starlette says alongside, such as the `Allow` header of a 405.
    response.headers.update(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        # Starlette names only the methods of the first route on this path.
        allowed = documented_methods(request.app, request.url.path)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def install_handlers(app: FastAPI) -> None:
    """Make every failure, FastAPI's own included, answer with the error shape (and say so
    in OpenAPI)."""
    document_app_wide_errors(app)

    @app.exception_handler(DentalCareError)
    async def _domain(_: Request, exc: DentalCareError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(_validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error_response(request, exc)

    for exc_type in DATABASE_DOWN:

        @app.exception_handler(exc_type)
        async def _db_down(_: Request, exc: Exception) -> JSONResponse:
            log.warning("database unreachable: %r", exc)
            return error_response(ServiceUnavailable("The database is unreachable; try again."))

    # Registered after DATABASE_DOWN: a handler is chosen by the exception's class
    # hierarchy, so the DataError that is also an InterfaceError is a 400 as well.
    for exc_type in BAD_INPUT:

        @app.exception_handler(exc_type)
        async def _bad_value(_: Request, exc: Exception) -> JSONResponse:
            # Only the class: the message quotes the value, which may be personal data.
            log.warning("value refused by the database: %s", type(exc).__name__)
            return error_response(
                BadRequest("A value in the request is out of range or malformed.")
            )

    # Text PostgreSQL cannot hold (a NUL character) fails only when the statement runs; the
    # transaction is rolled back, so it is bad input like any other, not a server error.
    @app.exception_handler(asyncpg.CharacterNotInRepertoireError)
    @app.exception_handler(asyncpg.UntranslatableCharacterError)
    async def _unstorable_text(_: Request, exc: Exception) -> JSONResponse:
        return error_response(
            BadRequest("The request holds a character that cannot be stored, such as NUL.")
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            {"error": "InternalError", "detail": "Something went wrong on our side."},
            status_code=500,
        )
