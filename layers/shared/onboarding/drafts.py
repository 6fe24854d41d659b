"""Drafts of request models: what a half-filled form may hold.

`draft_model(Model)` derives, from a pydantic model whose fields are `Annotated` types, a model in
which every field is optional and only the rules that bound what is stored still apply: each field's
type (strict types stay strict; an integer may be sent as 5.0, as in the full model), its upper bounds
(length, number of items, value) and its text rules (no control characters, valid Unicode). What a
user fills in step by step is not checked yet: required fields, lower bounds (minimum lengths, values
and items) and semantic checks (after/before validators: time zone names, e-mail syntax; model
validators). Date-times and e-mail addresses are kept as the text typed so far (at most 64 and 254
characters). Unknown fields are still refused.
"""

from datetime import datetime
from functools import cache
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

import annotated_types
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, create_model
from pydantic.fields import FieldInfo
from pydantic.types import StringConstraints

from onboarding.validation import SINGLE_LINE, WHOLE_NUMBER, Printable

MAX_DRAFT_DATETIME_CHARS = 64  # ISO 8601 with fractions and an offset fits many times over
MAX_EMAIL_CHARS = 254  # RFC 5321's path limit

_UPPER_BOUNDS = (annotated_types.MaxLen, annotated_types.Le, annotated_types.Lt)
_DROPPED = (AfterValidator, BeforeValidator, annotated_types.MinLen, annotated_types.Ge, annotated_types.Gt)


@cache
def draft_model(model: type[BaseModel], **overrides: Any) -> type[BaseModel]:
    """The draft version of `model` (built once per model); `overrides`: fields defined otherwise, as
    pydantic's `create_model` takes them (`name=(type, default)`)."""
    fields: dict[str, Any] = {
        name: (draft_type(hint) | None, None)
        for name, hint in get_type_hints(model, include_extras=True).items()
        if name in model.model_fields and name not in overrides
    }
    fields.update(overrides)
    draft: type[BaseModel] = create_model(
        f"{model.__name__}Draft",
        __config__=ConfigDict(extra="forbid", frozen=True),
        __doc__=f"A draft of {model.__name__}: every field optional; types and upper bounds checked.",
        **fields,
    )
    return draft


def draft_type(hint: Any) -> Any:
    """`hint` with its upper bounds and text rules only (see the module's docstring)."""
    origin = get_origin(hint)
    if origin is Annotated:
        base, *metadata = get_args(hint)
        return _annotated(base, metadata)
    if origin in (Union, UnionType):
        members = [draft_type(member) for member in get_args(hint)]
        draft: Any = members[0]
        for member in members[1:]:
            draft = draft | member
        return draft
    if origin is list:
        return list[draft_type(get_args(hint)[0])]  # type: ignore[misc]
    if origin is dict:
        key, value = get_args(hint)
        return dict[draft_type(key), draft_type(value)]  # type: ignore[misc]
    if origin is Literal or hint in (bool, int, float, type(None)):
        return hint
    if hint is str:
        return Annotated[str, SINGLE_LINE]
    if hint is datetime:
        return Annotated[str, StringConstraints(max_length=MAX_DRAFT_DATETIME_CHARS), SINGLE_LINE]
    if hint is EmailStr:
        return Annotated[
            str, StringConstraints(strip_whitespace=True, max_length=MAX_EMAIL_CHARS), SINGLE_LINE
        ]
    raise TypeError(f"no draft rule for {hint!r}")


def _annotated(base: Any, metadata: list[Any]) -> Any:
    kept: list[Any] = []
    for item in metadata:
        if item is WHOLE_NUMBER:
            kept.append(item)  # a type rule, not a semantic check: 5.0 is the integer 5 in a draft too
        elif isinstance(item, StringConstraints):
            kept.append(StringConstraints(strip_whitespace=item.strip_whitespace, max_length=item.max_length))
        elif isinstance(item, FieldInfo):
            kept.extend(bound for bound in item.metadata if isinstance(bound, _UPPER_BOUNDS))
        elif isinstance(item, _UPPER_BOUNDS):
            kept.append(item)
        elif not isinstance(item, _DROPPED):
            kept.append(item)  # strictness, text rules, descriptions
    draft = base if base is str else draft_type(base)  # a str's own rules are the ones kept above
    if get_origin(draft) is Annotated:  # a base that is itself drafted with rules (datetime, e-mail)
        inner, *rules = get_args(draft)
        draft, kept = inner, [*rules, *kept]
    if draft is str and not any(isinstance(item, Printable) for item in kept):
        kept.append(SINGLE_LINE)  # a draft holds no control characters, whatever the field's rule
    return Annotated[draft, *kept] if kept else draft
