"""Field types for request models, and pydantic errors turned into the contract's 422 details.

Strings a client sends end up in JSONB and VARCHAR columns: PostgreSQL rejects NUL characters and the
driver cannot encode lone surrogates, so both are refused here (422) rather than failing in the database.
"""

import re
from collections.abc import Iterable

from pydantic import AfterValidator, ValidationError
from pydantic_core import ErrorDetails

from onboarding.errors import InvalidInput

# Single-line text: no control characters at all. Multi-line text may keep tab, newline, carriage return.
_SINGLE_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")
_MULTI_LINE_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(forbidden: re.Pattern[str]) -> AfterValidator:
    def check(value: str) -> str:
        if forbidden.search(value):
            raise ValueError("must not contain control characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text") from None
        return value

    return AfterValidator(check)


# Use as Annotated metadata: `Annotated[str, StringConstraints(...), SINGLE_LINE]`.
SINGLE_LINE = _printable(_SINGLE_LINE_FORBIDDEN)
MULTI_LINE = _printable(_MULTI_LINE_FORBIDDEN)


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
