"""Text that people type: a name is one line of printable characters."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators. A name
# ends up in calendar files, e-mail headers, CSV exports and logs, where a line break or
# an escape sequence is a way to inject something else.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(value: str) -> str:
    """`value` if it holds no control character or line break (ValueError otherwise)."""
    if _NOT_ONE_LINE.search(value):
        raise ValueError("must be one line of text, without control characters")
    return value


def printable(value: str) -> str:
    """`value` with every control character or line break replaced by a space: for text
    stored before names were checked, on its way into a line-based format."""
    return _NOT_ONE_LINE.sub(" ", value)


# A person's (or a dentist's) name, as every schema that takes one accepts it.
PersonName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(one_line)]
