"""Field types for request models (the contract's 422 details they lead to are `field_errors`).

Every rule a field type enforces is also in its JSON schema (openapi.json), so that what the schema
calls valid is accepted and what it calls invalid is refused; the few rules no schema can state (a
timestamp's age, an e-mail domain that cannot exist, ...) are listed per model under `x-rules`, and
their 422 details carry the rule's name as `type`.

- Text: no control characters (tab, newline and carriage return allowed in multi-line fields), no
  whitespace at either end (the lengths are the lengths of what is stored), and nothing the database
  driver cannot encode (lone surrogates): 422, never a failure in the database.
- Whole numbers: JSON does not tell 1 from 1.0, so both are the integer 1; 1.5, "1" and true are not.
- Timestamps: RFC 3339 text (no Unix numbers), with an offset PostgreSQL can store (at most 15:59 from
  UTC), read as an instant and kept in UTC; they go out as RFC 3339 in UTC with `Z` (`utc_text`).
"""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainValidator,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

# --- Text ---

# Characters `str.strip()` removes that are not control characters (those are refused anyway).
WHITESPACE: Final = " \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_SINGLE_LINE_CONTROLS: Final = "\u0000-\u001f\u007f"
_MULTI_LINE_CONTROLS: Final = "\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f"


def _text_pattern(controls: str) -> str:
    # Empty, or starting and ending with neither whitespace nor a control character (the edges also
    # exclude tab, newline and carriage return).
    edge = f"[^{WHITESPACE}{_SINGLE_LINE_CONTROLS}]"
    return f"^(?:{edge}(?:[^{controls}]*{edge})?)?$"


def _json_escaped(pattern: str) -> str:
    """The pattern as JSON Schema writes it: escapes, not raw control characters."""
    return pattern.encode("unicode_escape").decode("ascii").replace("\\x", "\\u00")


class Printable:
    """Annotated metadata for text fields: refuses control characters, whitespace at either end and
    text the database driver cannot encode (lone surrogates), after the field's own validation; and
    documents the rule in the JSON schema (OpenAPI) as a pattern, so that clients and generated
    requests know it. (Public: drafts keep it on the text fields they relax, `drafts`.)

    `pattern` is text for the schema only (`check` is the validation), so it is not compiled; and a
    plain class, not a dataclass: each costs a function's cold start (bench/README.md, "Cold start")."""

    __slots__ = ("forbidden", "pattern")

    def __init__(self, pattern: str, forbidden: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.forbidden = forbidden

    def check(self, value: str) -> str:
        if self.forbidden.search(value):
            raise ValueError("must not contain control characters")
        if value != value.strip():
            raise ValueError("must not start or end with whitespace")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text") from None
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = _json_escaped(self.pattern)
        return json_schema


# Use as Annotated metadata: `Annotated[str, StringConstraints(...), SINGLE_LINE]`.
SINGLE_LINE = Printable(_text_pattern(_SINGLE_LINE_CONTROLS), re.compile(f"[{_SINGLE_LINE_CONTROLS}]"))
MULTI_LINE = Printable(_text_pattern(_MULTI_LINE_CONTROLS), re.compile(f"[{_MULTI_LINE_CONTROLS}]"))


# --- Numbers ---


def _whole_number(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer: 5 or 5.0 (the same JSON number), never "5", 5.5 or true. Annotated metadata placed after
# the field's bounds (`Annotated[StrictInt, Field(ge=1), WHOLE_NUMBER]`): bounds placed after a
# validator are enforced but missing from the JSON schema.
WHOLE_NUMBER = BeforeValidator(_whole_number)


# --- Dates and timestamps ---

# Days that exist: 1-28 in every month, 29-30 in all but February, 31 in the long months, and February
# 29th in leap years only (divisible by 4, centuries only when divisible by 400; the years here are
# 1000 and later). So the schema's pattern is the calendar: a date it allows, the service can read.
_MONTH_DAY = (
    r"-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
)
_LEAP_YEAR = r"(?:[1-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[13579][26])00)"
DATE_PATTERN: Final = f"(?:[1-9][0-9]{{3}}{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"  # years 1000-9999
# Years 1000-9998: whatever its offset, the instant exists in UTC (9999-12-31T23:00-05:00 would not).
_TIMESTAMP_YEAR = r"(?:[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
_TIMESTAMP_DATE = f"(?:{_TIMESTAMP_YEAR}{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
# PostgreSQL stores offsets up to 15:59 from UTC (every offset in use is within 14:00).
_OFFSET = r"(?:Z|[+-](?:0[0-9]|1[0-5]):[0-5][0-9])"
TIMESTAMP_PATTERN: Final = f"^{_TIMESTAMP_DATE}T{_TIME}{_OFFSET}$"
LOCAL_OR_TIMESTAMP_PATTERN: Final = f"^{_TIMESTAMP_DATE}T{_TIME}{_OFFSET}?$"
# Both date-time patterns in one compiled expression, the offset a group: compiling each of these
# patterns costs ~0.5 ms at every cold start (bench/README.md, "Cold start"). A test holds the two
# functions below to the two patterns the schemas state.
_DATE_TIME = re.compile(f"^{_TIMESTAMP_DATE}T{_TIME}(?P<offset>{_OFFSET})?$")
_DATE = re.compile(f"^{DATE_PATTERN}$")


def _is_timestamp(value: str) -> bool:
    """Whether `value` matches TIMESTAMP_PATTERN."""
    match = _DATE_TIME.fullmatch(value)
    return match is not None and match["offset"] is not None


def _is_local_or_timestamp(value: str) -> bool:
    """Whether `value` matches LOCAL_OR_TIMESTAMP_PATTERN."""
    return _DATE_TIME.fullmatch(value) is not None


def _is_date(value: str) -> bool:
    return _DATE.fullmatch(value) is not None


def iso_text(value: object) -> object:
    """`BeforeValidator` of date-time fields: ISO 8601 text only (lax validation would read a number as
    a Unix timestamp)."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


def _matching(matches: Callable[[str], bool], what: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        if not isinstance(value, str) or not matches(value):
            raise PydanticCustomError("datetime_format", "must be {what}", {"what": what})
        return value

    return check


def _in_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)  # within years 1000-9998 (the pattern): never out of range


RFC3339 = "an RFC 3339 date-time with an offset, e.g. 2026-11-25T09:30:00Z or 2026-11-25T10:30:00+01:00"
# A timestamp a client sends: RFC 3339 with an offset, read as that instant, kept in UTC.
Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_matching(_is_timestamp, RFC3339)),
    AfterValidator(_in_utc),
    # Offsets in the database's range (`format: date-time` alone allows 23:59), seconds required.
    Field(json_schema_extra={"pattern": TIMESTAMP_PATTERN}),
]
LOCAL_OR_RFC3339 = "an ISO 8601 date-time, e.g. 2026-11-25T09:30:00 (local) or 2026-11-25T09:30:00-05:00"
# A date-time that may leave out its offset (the caller then says which time zone it is in).
LocalOrTimestamp = Annotated[
    datetime,
    BeforeValidator(_matching(_is_local_or_timestamp, LOCAL_OR_RFC3339)),
    # Not `format: date-time`, which requires the offset.
    WithJsonSchema({"type": "string", "pattern": LOCAL_OR_TIMESTAMP_PATTERN}),
]
IsoDate = Annotated[
    date,
    BeforeValidator(_matching(_is_date, "an ISO 8601 date, e.g. 2026-11-25")),
    Field(json_schema_extra={"pattern": f"^{DATE_PATTERN}$"}),
]
DATE_OR_TIMESTAMP = "an ISO 8601 date (2026-11-25) or an RFC 3339 date-time with an offset"


def _date_or_timestamp(value: object) -> date | datetime:
    try:
        if isinstance(value, str) and _is_date(value):
            return date.fromisoformat(value)
        if isinstance(value, str) and _is_timestamp(value):
            return _in_utc(datetime.fromisoformat(value))
    except ValueError:
        pass  # a day the calendar does not have (2026-02-30)
    raise PydanticCustomError("date_format", "must be {what}", {"what": DATE_OR_TIMESTAMP})


# A day or an instant (query parameters: analytics periods). Never a number.
DateOrTimestamp = Annotated[
    date | datetime,
    PlainValidator(_date_or_timestamp),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date", "pattern": f"^{DATE_PATTERN}$"},
                {"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN},
            ]
        }
    ),
]


def is_date_text(value: str) -> bool:
    return _is_date(value)


def is_timestamp_text(value: str) -> bool:
    return _is_timestamp(value)


def utc_text(value: datetime) -> str:
    """A timestamp as the API writes it: RFC 3339 in UTC with `Z` (as pydantic serializes UTC times)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
