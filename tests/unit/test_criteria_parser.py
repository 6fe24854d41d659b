"""`checklist.parse_criterion` is written out (no pydantic models: their building cost ~4 ms of every
cold start of the functions that evaluate the checklist). It must accept and refuse exactly what the
pydantic discriminated union it replaced did: that union is kept here as the reference, and both
parse the same generated criteria, valid and not."""

from typing import Annotated, Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from onboarding.checklist import (
    MAX_CRITERIA_DEPTH,
    MAX_THRESHOLD,
    STATE_FIELDS,
    ComparisonOperator,
    CompositeAnd,
    CompositeOr,
    CounterCriterion,
    Criterion,
    InvalidCriterion,
    StateCheckCriterion,
    StateField,
    parse_criterion,
)
from onboarding.counters import Counter

# --- The reference: the pydantic union `checklist` used until 2026-12-06 ---


class _Reference(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = Field(default=None, max_length=500)


class _Counter(_Reference):
    type: Literal["database_query"]
    counter: Counter
    operator: ComparisonOperator = ">="
    threshold: StrictInt = Field(ge=0, le=MAX_THRESHOLD)


class _StateCheck(_Reference):
    type: Literal["state_check"]
    field: StateField
    operator: ComparisonOperator = "=="
    value: StrictBool | StrictInt

    @model_validator(mode="after")
    def _value_fits_the_field(self) -> "_StateCheck":
        if self.field == "wizard_current_step":
            if isinstance(self.value, bool) or not 1 <= self.value <= 5:
                raise ValueError("wizard_current_step compares with a step number 1-5")
        elif not isinstance(self.value, bool) or self.operator not in ("==", "!="):
            raise ValueError(f"{self.field} compares with true or false, using == or !=")
        return self


class _And(_Reference):
    type: Literal["composite_and"]
    criteria: list["_Any"] = Field(min_length=1, max_length=20)


class _Or(_Reference):
    type: Literal["composite_or"]
    criteria: list["_Any"] = Field(min_length=1, max_length=20)


_Any = Annotated[_Counter | _StateCheck | _And | _Or, Field(discriminator="type")]
_And.model_rebuild()
_Or.model_rebuild()
_REFERENCE: TypeAdapter[Any] = TypeAdapter(_Any)


def _depth(model: Any) -> int:
    return 1 + max(map(_depth, model.criteria)) if isinstance(model, _And | _Or) else 1


def reference(raw: object) -> Any | None:
    """The reference's reading of `raw` as plain data, or None where it refuses it."""
    try:
        model = _REFERENCE.validate_python(raw)
    except ValidationError:
        return None
    return model if _depth(model) <= MAX_CRITERIA_DEPTH else None


def same(parsed: Criterion, model: Any) -> bool:
    if isinstance(parsed, CompositeAnd | CompositeOr):
        kind = "composite_and" if isinstance(parsed, CompositeAnd) else "composite_or"
        return (
            model.type == kind
            and parsed.description == model.description
            and len(parsed.criteria) == len(model.criteria)
            and all(same(child, other) for child, other in zip(parsed.criteria, model.criteria, strict=True))
        )
    if isinstance(parsed, CounterCriterion):
        return model.type == "database_query" and (
            parsed.counter,
            parsed.operator,
            parsed.threshold,
            parsed.description,
        ) == (model.counter, model.operator, model.threshold, model.description)
    return model.type == "state_check" and (
        type(parsed.value),
        parsed.field,
        parsed.operator,
        parsed.value,
        parsed.description,
    ) == (type(model.value), model.field, model.operator, model.value, model.description)


# --- Generated criteria: mostly valid, each part wrong now and then, in every way a part can be ---

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 7),
    st.sampled_from([0, 5, MAX_THRESHOLD, MAX_THRESHOLD + 1, -1]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-2, max_value=6),
    st.sampled_from([1.0, 3.0]),
    st.sampled_from(["1", "", "x" * 500, "x" * 501, "real_events", "==", "true"]),
)


def sometimes_wrong(draw: st.DrawFn, valid: st.SearchStrategy[Any], wrong: st.SearchStrategy[Any]) -> Any:
    """Usually a valid value, one time in eight a mistake (which may happen to be valid too)."""
    return draw(wrong) if draw(st.integers(0, 7)) == 0 else draw(valid)


OPERATORS = st.sampled_from([">=", ">", "==", "!=", "<=", "<"])
WRONG_OPERATORS = st.one_of(st.sampled_from(["LIKE", "=", ""]), SCALARS)
COUNTERS = st.sampled_from([c.value for c in Counter])
WRONG_COUNTERS = st.one_of(st.sampled_from(["events", "REAL_EVENTS"]), SCALARS)
DESCRIPTIONS = st.one_of(st.none(), st.text(max_size=3), st.just("x" * 500))
WRONG_DESCRIPTIONS = st.one_of(st.just("x" * 501), SCALARS)
KINDS = ("database_query", "state_check", "composite_and", "composite_or")
WRONG_KINDS = st.one_of(st.sampled_from(["sql", "DATABASE_QUERY", "composite_not"]), SCALARS)


def _finish(draw: st.DrawFn, criterion: dict[str, Any]) -> dict[str, Any]:
    if draw(st.booleans()):
        criterion["description"] = sometimes_wrong(draw, DESCRIPTIONS, WRONG_DESCRIPTIONS)
    if draw(st.integers(0, 15)) == 0:
        criterion[draw(st.sampled_from(["query", "sql", "extra", "counter", "field", "criteria"]))] = draw(
            SCALARS
        )
    if draw(st.integers(0, 15)) == 0:
        del criterion[draw(st.sampled_from(sorted(criterion)))]
    if draw(st.integers(0, 15)) == 0:
        criterion["type"] = draw(st.one_of(st.sampled_from(KINDS), WRONG_KINDS))
    return criterion


@st.composite
def leaves(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        criterion: dict[str, Any] = {
            "type": "database_query",
            "counter": sometimes_wrong(draw, COUNTERS, WRONG_COUNTERS),
            "threshold": sometimes_wrong(draw, st.integers(0, MAX_THRESHOLD), SCALARS),
        }
    else:
        field = sometimes_wrong(
            draw, st.sampled_from(STATE_FIELDS), st.one_of(st.just("organization_id"), SCALARS)
        )
        value = st.integers(1, 5) if field == "wizard_current_step" else st.booleans()
        criterion = {"type": "state_check", "field": field, "value": sometimes_wrong(draw, value, SCALARS)}
    if draw(st.booleans()):
        valid = (
            OPERATORS
            if criterion.get("field") == "wizard_current_step" or "counter" in criterion
            else st.sampled_from(["==", "!="])
        )
        criterion["operator"] = sometimes_wrong(draw, valid, st.one_of(OPERATORS, WRONG_OPERATORS))
    return _finish(draw, criterion)


def composites(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    @st.composite
    def build(draw: st.DrawFn) -> Any:
        items = draw(st.lists(children, min_size=1, max_size=3))
        if draw(st.integers(0, 7)) == 0:
            items = draw(st.sampled_from([[], items * 7, items * 20]))[:21]
        criterion: dict[str, Any] = {"type": draw(st.sampled_from(KINDS[2:])), "criteria": items}
        if draw(st.integers(0, 15)) == 0:
            criterion["criteria"] = draw(st.one_of(SCALARS, st.just(tuple(items)), st.just({"a": 1})))
        return _finish(draw, criterion)

    return build()


CRITERIA = st.one_of(st.recursive(leaves(), composites, max_leaves=12), SCALARS, st.just([]))


@settings(max_examples=3000, deadline=None)
@given(CRITERIA)
def test_the_parser_accepts_and_refuses_what_the_pydantic_union_did(raw: Any) -> None:
    model = reference(raw)
    if model is None:
        with pytest.raises(InvalidCriterion):
            parse_criterion(raw)
    else:
        assert same(parse_criterion(raw), model)


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "database_query", "counter": "real_events", "threshold": True},
        {"type": "database_query", "counter": "real_events", "threshold": 1, "operator": None},
        {"type": "database_query", "counter": 1, "threshold": 1},
        {"type": "database_query", "counter": "real_events", "threshold": 1, "description": 5},
        {"type": "database_query", "counter": "real_events", "threshold": 1, "description": "x" * 501},
        {"type": ["state_check"], "field": "skipped", "value": True},
        {"type": "state_check", "field": "wizard_current_step", "value": 2.0},
        {"type": "state_check", "field": "skipped", "value": 1, "operator": "=="},
        {"type": "composite_or", "criteria": {"type": "state_check", "field": "skipped", "value": True}},
        {
            "type": "composite_or",
            "criteria": [{"type": "state_check", "field": "skipped", "value": True}],
            "x": 1,
        },
    ],
)
def test_mistakes_the_generated_criteria_may_miss_are_refused_by_both(raw: dict[str, Any]) -> None:
    assert reference(raw) is None
    with pytest.raises(InvalidCriterion):
        parse_criterion(raw)


def test_a_parsed_criterion_is_immutable_and_keeps_its_description() -> None:
    parsed = parse_criterion(
        {"type": "composite_and", "criteria": [{"type": "state_check", "field": "skipped", "value": False}]}
    )
    assert parsed == CompositeAnd((StateCheckCriterion("skipped", False),))
    assert parse_criterion(
        {"type": "database_query", "counter": "real_events", "threshold": 1, "description": "note"}
    ) == CounterCriterion(Counter.REAL_EVENTS, 1, ">=", "note")
