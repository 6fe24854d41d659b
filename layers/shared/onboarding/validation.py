"""Field types for request models, and pydantic errors turned into the contract's 422 details.

Strings a client sends end up in JSONB and VARCHAR columns: PostgreSQL rejects NUL characters and the
driver cannot encode lone surrogates, so both are refused here (422) rather than failing in the database.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, ErrorDetails, core_schema

from onboarding.errors import InvalidInput

# Single-line text: no control characters at all. Multi-line text may keep tab, newline, carriage return.
_SINGLE_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")
_MULTI_LINE_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Printable:
    """Annotated metadata for text fields: refuses control characters and text the database driver
    cannot encode (lone surrogates), after the field's own validation; and documents the rule in the
    JSON schema (OpenAPI) as a pattern, so that clients and generated requests know it."""

    forbidden: re.Pattern[str]
    json_pattern: str

    def check(self, value: str) -> str:
        if self.forbidden.search(value):
            raise ValueError("must not contain control characters")
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
        json_schema["pattern"] = self.json_pattern
        return json_schema


# Use as Annotated metadata: `Annotated[str, StringConstraints(...), SINGLE_LINE]`.
SINGLE_LINE = Printable(_SINGLE_LINE_FORBIDDEN, "^[^\\u0000-\\u001f\\u007f]*$")
MULTI_LINE = Printable(_MULTI_LINE_FORBIDDEN, "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$")


def iso_text(value: object) -> object:
    """`BeforeValidator` of date-time fields: ISO 8601 text only (lax validation would read a number as
    a Unix timestamp)."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


def invalid_input(error: ValidationError, *, location: str = "body") -> InvalidInput:
    """The 422 for a pydantic error, in the same shape `api` gives request-validation errors."""
    details = [_detail(item, location) for item in error.errors(include_url=False, include_input=False)]
    return invalid_input_from_details(details)


def invalid_input_from_details(details: Iterable[dict[str, str]]) -> InvalidInput:
    listed = list(details)
    fields = ", ".join(sorted({detail["field"] for detail in listed}))
    return InvalidInput(f"The request is not valid: check {fields}.", details=listed)


def field_error(field: str, reason: str, type_: str = "value_error") -> dict[str, str]:
    return {"field": field, "reason": reason, "type": type_}


def _detail(item: ErrorDetails, location: str) -> dict[str, str]:
    path = [location, *(str(part) for part in item["loc"])]
    return field_error(".".join(path), item["msg"], item["type"])
