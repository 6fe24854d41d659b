"""A statement's parameters written into its text, so that pg8000 sends it in one round trip.

pg8000 sends a statement with parameters with the extended protocol: Parse, Describe, then Bind and
Execute, each followed by a Sync, three waits for the server. Without parameters it sends the text with
the simple protocol: one wait. Behind RDS Proxy each wait costs 0.3-1 ms, and on any link the two
extra waits and their messages cost the driver's Python time (bench/README.md, issue 16). So, as
psycopg2 does for every statement, the engine writes the values into the text itself where that is
provably the same statement:

- each value becomes the quoted text pg8000 would have bound, `'...'` with `'` doubled, and stays
  untyped, as pg8000's parameters are (it binds every value as text with no type, so the server infers
  the type from the context; SQLAlchemy's statements cast their parameters anyway);
- only for the types in `_TEXT_OF` (exactly those types, no subclasses: text, numbers, booleans,
  timestamps, dates, intervals, UUIDs and lists, which pg8000 binds as an array's text) and for
  text without a NUL character (which PostgreSQL refuses in both ways, and which must not end the
  simple protocol's query string); any other value sends the whole statement bound, as before;
- only on a connection whose server reports `standard_conforming_strings = on` (a backslash in
  `'...'` is then an ordinary character, so doubling `'` is the whole quoting) and `client_encoding =
  UTF8`; both are read from what the server reported (pg8000's `parameter_statuses`) on every
  statement, so a server or database configured otherwise gets bound parameters;
- the placeholders are found by pg8000's own scanner (the `$1, $2, ...` it would send), so quoted
  text, quoted identifiers and comments are left alone exactly as pg8000 leaves them; a statement whose
  text has a `$` of its own (a dollar-quoted string) is sent with bound parameters.

`tests/test_inline_parameters.py` holds every kind of value to the bound result, quotes and
backslashes among them, and the refusals.
"""

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final
from uuid import UUID

import pg8000.converters
import pg8000.dbapi

# The text pg8000 binds for a value, by the value's exact type (pg8000.converters.PY_TYPES).
_TEXT_OF: Final[dict[type, Callable[[Any], str]]] = {
    str: pg8000.converters.string_out,
    int: pg8000.converters.int_out,
    bool: pg8000.converters.bool_out,
    float: pg8000.converters.float_out,
    Decimal: pg8000.converters.numeric_out,
    datetime: pg8000.converters.datetime_out,
    date: pg8000.converters.date_out,
    UUID: pg8000.converters.uuid_out,
    timedelta: pg8000.converters.interval_out,
    # An array's text, its elements quoted and escaped by pg8000 (`{"a","b \\" c"}`): the server
    # parses the same text either way.
    list: pg8000.converters.array_out,
}

_SAFE_SERVER: Final = {"standard_conforming_strings": "on", "client_encoding": "UTF8"}


def literal(value: Any) -> str | None:
    """The value as an untyped SQL literal, or None when it cannot be written in."""
    if value is None:
        return "NULL"
    to_text = _TEXT_OF.get(type(value))
    if to_text is None:
        return None
    text = to_text(value)
    if "\x00" in text:
        return None
    return "'" + text.replace("'", "''") + "'"


@lru_cache(maxsize=512)  # once per statement text: SQLAlchemy sends the same few texts again and again
def _pieces(statement: str) -> tuple[str, ...] | None:
    """The statement's text split at its `%s` placeholders as pg8000 finds them (None: not to split)."""
    if "$" in statement:
        return None
    try:
        converted: str = pg8000.dbapi.convert_paramstyle("format", statement, ())[0]
    except pg8000.dbapi.InterfaceError:
        return None
    parts = converted.split("$")
    pieces = [parts[0]]
    for number, part in enumerate(parts[1:], start=1):
        digits = str(number)
        if not part.startswith(digits) or part[len(digits) : len(digits) + 1].isdigit():
            return None
        pieces.append(part[len(digits) :])
    return tuple(pieces)


def inline(server_parameters: dict[str, str], statement: str, parameters: Sequence[Any]) -> str | None:
    """`statement` with `parameters` written in, or None to send it with bound parameters."""
    for name, value in _SAFE_SERVER.items():
        if server_parameters.get(name) != value:
            return None
    pieces = _pieces(statement)
    if pieces is None or len(pieces) != len(parameters) + 1:
        return None
    text = [pieces[0]]
    for value, piece in zip(parameters, pieces[1:], strict=True):
        written = literal(value)
        if written is None:
            return None
        text.append(written)
        text.append(piece)
    return "".join(text)
