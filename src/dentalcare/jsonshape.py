"""Rendering database values in the contract's JSON formats (shared by REST and realtime).

Rows arrive either from asyncpg (date/time/datetime/Decimal objects) or from the event
log's `to_jsonb` (strings and numbers); both render the same way here.

An `XRead` model is the one definition of what a response object holds: its fields say
which keys there are, and the `Wire` marker in a field's type (`TextId`, `Instant`,
`IsoDate`, `HhMm`, `Money`) says how the database value is written. `renderer(XRead)`
turns that into the function the hot path calls: plain dict building, no validation.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from uuid import UUID

from pydantic import BaseModel


def iso_date(value: Any) -> str | None:
    """`YYYY-MM-DD`."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def hh_mm(value: Any) -> str | None:
    """`HH:MM` (24 h)."""
    if value is None:
        return None
    if isinstance(value, time):
        return f"{value.hour:02d}:{value.minute:02d}"
    return str(value)[:5]


def iso_instant(value: Any) -> str | None:
    """ISO 8601 with offset, in UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"not an instant: {value!r}")


def text_id(value: Any) -> str | None:
    """A UUID as text."""
    return None if value is None else str(value)


def money(value: Any) -> float | None:
    """A numeric amount as a JSON number."""
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class Wire:
    """Type metadata: how a database value is written in this field of a response."""

    write: Callable[[Any], Any]


TextId = Annotated[UUID, Wire(text_id)]
Instant = Annotated[datetime, Wire(iso_instant)]
IsoDate = Annotated[str, Wire(iso_date)]
HhMm = Annotated[str, Wire(hh_mm)]
Money = Annotated[float, Wire(money)]

Row = Mapping[str, Any]
Renderer = Callable[[Row], dict[str, Any]]


def _wire_of(annotation: Any, metadata: Iterable[Any]) -> Callable[[Any], Any] | None:
    """The field's `Wire` writer, also when it sits inside `X | None`; None: as stored."""
    for item in metadata:
        if isinstance(item, Wire):
            return item.write
    if get_origin(annotation) is Annotated:
        return _wire_of(None, annotation.__metadata__)
    if get_origin(annotation) in (Union, types.UnionType):
        for member in get_args(annotation):
            found = _wire_of(member, ())
            if found is not None:
                return found
    return None


def _as_stored(annotation: Any) -> bool:
    """Whether values of this type are written as the database gives them (JSON's own)."""
    if annotation in (str, int, bool, type(None)) or get_origin(annotation) is Literal:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return all(_as_stored(member) for member in get_args(annotation))
    return False


def renderer(model: type[BaseModel], *, omit: Iterable[str] = ()) -> Renderer:
    """The function that renders a row as `model` describes it: every field of the model
    (but `omit`), in the model's order, each written by its `Wire` marker or as stored.

    A key the row lacks renders as null (an event logged before a column existed). A field
    of another type than str, int, bool or a Literal needs a marker (TypeError otherwise):
    a UUID or a datetime passed through would come out in whatever form the row had."""
    left_out = frozenset(omit)
    plan: list[tuple[str, Callable[[Any], Any] | None]] = []
    for name, field in model.model_fields.items():
        if name in left_out:
            continue
        write = _wire_of(field.annotation, field.metadata)
        if write is None and not _as_stored(field.annotation):
            raise TypeError(
                f"{model.__name__}.{name}: say how a {field.annotation} is written "
                "(TextId, Instant, IsoDate, HhMm, Money)"
            )
        plan.append((name, write))
    # One dict display, compiled once (as dataclasses compile __init__): as fast as a
    # hand-written renderer, where a loop over the fields costs a third more, and this
    # runs for every appointment served.
    writers = {f"write_{i}": write for i, (_, write) in enumerate(plan) if write is not None}
    items = ", ".join(
        f"{name!r}: get({name!r})" if write is None else f"{name!r}: write_{i}(get({name!r}))"
        for i, (name, write) in enumerate(plan)
    )
    source = f"def render(row):\n    get = row.get\n    return {{{items}}}\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<renderer of {model.__name__}>", "exec"), writers, namespace)
    render: Renderer = namespace["render"]
    render.__name__ = render.__qualname__ = f"render_{model.__name__}"
    render.__doc__ = f"A row as the contract's `{model.__name__}` JSON object."
    return render
