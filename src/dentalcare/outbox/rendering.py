"""Messages as Jinja2 templates: one subject, one plain-text and one HTML template a kind.

The HTML is autoescaped; the subject and the text are not (they are not HTML) but lose
their line breaks where a header would break. A kind's templates live beside this module
in templates/ (KIND.subject.txt, KIND.txt, KIND.html); other packages add their own
kinds' files there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class Rendered:
    """One message, ready to send."""

    subject: str
    text: str
    html: str


@cache
def _environments() -> tuple[jinja2.Environment, jinja2.Environment]:
    # Templates ship with the package: compiled once per process, never checked on disk
    # again (auto_reload would stat the file on every message, inside every booking).
    loader = jinja2.FileSystemLoader(TEMPLATES)
    plain = jinja2.Environment(
        loader=loader,
        autoescape=False,
        undefined=jinja2.ChainableUndefined,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    html = jinja2.Environment(
        loader=loader, autoescape=True, undefined=jinja2.ChainableUndefined, auto_reload=False
    )
    return plain, html


def known_kinds() -> set[str]:
    """The kinds that have all three templates."""
    names = {p.name for p in TEMPLATES.iterdir()}
    return {
        n.removesuffix(".subject.txt")
        for n in names
        if n.endswith(".subject.txt")
        and f"{n.removesuffix('.subject.txt')}.txt" in names
        and f"{n.removesuffix('.subject.txt')}.html" in names
    }


def render_subject(kind: str, context: dict[str, Any]) -> str:
    """The subject line alone (one line, at most 500 characters)."""
    plain, _ = _environments()
    subject = plain.get_template(f"{kind}.subject.txt").render(_with_defaults(context))
    return " ".join(subject.split())[:500]


def render(kind: str, context: dict[str, Any]) -> Rendered:
    """The subject, text and HTML of a message of `kind` with `context`."""
    plain, html = _environments()
    subject = render_subject(kind, context)
    values = _with_defaults(context) | {"subject_line": subject}
    return Rendered(
        subject=subject,
        text=plain.get_template(f"{kind}.txt").render(values),
        html=html.get_template(f"{kind}.html").render(values),
    )


def _with_defaults(context: dict[str, Any]) -> dict[str, Any]:
    values = dict(context)
    values.setdefault("links", {})
    values.setdefault("clinic", {})
    values.setdefault("subject_line", "")
    return values
