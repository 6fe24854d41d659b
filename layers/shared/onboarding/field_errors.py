"""The contract's 422 details: pydantic errors and the service's own checks as `{field, reason, type}`.

Apart from `validation` (the field types of request models: their patterns are compiled at import), so
that a function whose requests have no such fields does not build them at its cold start.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from onboarding.errors import InvalidInput


def rules(described: Mapping[str, str]) -> dict[str, Any]:
    """`json_schema_extra` of a model with rules its schema cannot state: detail `type` -> the rule."""
    return {"x-rules": dict(described)}


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
