"""Draft models: every field optional; types, upper bounds and text rules kept; the rest waits."""

from typing import Annotated, Literal

import pytest
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictInt,
    StringConstraints,
    ValidationError,
)

from onboarding.drafts import draft_model
from onboarding.validation import MULTI_LINE, SINGLE_LINE


def _positive(value: int) -> int:
    if value % 2:
        raise ValueError("must be even")
    return value


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=10), SINGLE_LINE]
    notes: Annotated[str, StringConstraints(max_length=20), MULTI_LINE] | None = None
    count: Annotated[StrictInt, Field(ge=5, le=50), AfterValidator(_positive)]
    emails: Annotated[list[EmailStr], Field(min_length=2, max_length=3)]
    kind: Literal["a", "b"] = "a"
    code: str = "x"


DRAFT = draft_model(Form)


def test_every_field_is_optional() -> None:
    assert DRAFT.model_validate({}).model_dump(exclude_unset=True) == {}


@pytest.mark.parametrize(
    "partial",
    [
        {"name": "Gr"},  # under the minimum length
        {"count": 1},  # under the minimum, odd (a semantic check)
        {"emails": ["ana@"]},  # too few, not an address yet
        {"notes": "line one\nline two"},  # multi-line text keeps its newlines
    ],
)
def test_what_is_not_filled_in_yet_is_not_checked(partial: dict[str, object]) -> None:
    assert DRAFT.model_validate(partial).model_dump(exclude_unset=True) == partial


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "x" * 11},
        {"name": "Gr\nace"},
        {"name": "Gr\x00"},
        {"code": "a\x01"},  # plain text gets the single-line rule
        {"count": "5"},  # strict stays strict
        {"count": 51},
        {"emails": ["a@b.c"] * 4},
        {"emails": ["a" * 255]},
        {"kind": "c"},
        {"other": 1},
    ],
)
def test_types_upper_bounds_and_text_rules_still_apply(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DRAFT.model_validate(bad)


def test_whitespace_is_trimmed_as_in_the_full_model() -> None:
    assert DRAFT.model_validate({"name": "  Gr  "}).model_dump(exclude_unset=True) == {"name": "Gr"}


def test_overrides_replace_a_field() -> None:
    draft = draft_model(Form, kind=(Literal["draft"], ...))
    with pytest.raises(ValidationError):
        draft.model_validate({})
    assert draft.model_validate({"kind": "draft"}).model_dump(exclude_unset=True) == {"kind": "draft"}
