"""A/B experiments of the onboarding: definitions held as data, each organization's variant assigned once.

Experiments are rows of `onboarding_experiment` (id, description, 2-10 variants with integer weights,
active flag), managed with SQL (docs/analytics.md). When an organization starts onboarding it gets a
variant of every active experiment, stored once on its state (`onboarding_state.experiments`) in the
statement that creates the state:

- the variant the client chose at start (`POST /v1/onboarding` `{"experiments": {...}}`), when it names
  an active experiment and one of its variants (anything else is a 422 and starts nothing,
  `check_choices`);
- otherwise a deterministic one: `bucket = int(md5("<experiment id>:<organization id>")[:8], 16)`,
  and the first variant (in definition order) whose cumulative weight exceeds `bucket % total weight`.
  The same organization always gets the same variant of an experiment, on any database, and the
  variants' shares follow their weights.

An experiment created later does not reassign organizations that already started. The first variant
of a definition is the baseline analytics compare the others with (`analytics`).
"""

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    ScalarSelect,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import BIT
from sqlalchemy.orm import Session

from onboarding.errors import InvalidInput, NotFound
from onboarding.field_errors import field_error
from onboarding.ids import EXPERIMENT_ID_PATTERN
from onboarding.observability import logger
from onboarding.tables import onboarding_experiment

MAX_CHOICES: Final = 20
ExperimentId = Annotated[str, Field(pattern=EXPERIMENT_ID_PATTERN)]
VariantId = Annotated[str, Field(pattern=EXPERIMENT_ID_PATTERN)]


Choices = Annotated[
    dict[ExperimentId, VariantId],
    Field(
        max_length=MAX_CHOICES,
        description="experiment id -> variant id, for experiments whose variant the client decides",
    ),
]


class ExperimentNotFound(NotFound):
    """No experiment has this id (GET /v1/analytics/experiments lists them)."""

    code = "experiment_not_found"


# --- Definitions ---


class Variant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: VariantId
    weight: int = Field(ge=1, le=1000)


class Experiment(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: ExperimentId
    description: str
    variants: list[Variant] = Field(min_length=2, max_length=10)
    is_active: bool
    created_at: datetime

    @field_validator("variants")
    @classmethod
    def _unique_variants(cls, variants: list[Variant]) -> list[Variant]:
        if len({variant.id for variant in variants}) != len(variants):
            raise ValueError("variant ids must be unique")
        return variants

    @property
    def baseline(self) -> str:
        return self.variants[0].id


def definitions(session: Session, experiment_id: str | None = None) -> list[Experiment]:
    """The experiments (one, or all by id), skipping rows whose definition is not valid (logged)."""
    one = experiment_id is not None
    params = {"experiment_id": experiment_id} if one else {}
    found = []
    for row in session.execute(_definitions_statement(one), params).mappings():
        experiment = parse_definition(dict(row))
        if experiment is not None:
            found.append(experiment)
    return found


@cache
def _definitions_statement(one: bool) -> Select[Any]:
    """All experiments, or the one `experiment_id` (a bound parameter); built once per container."""
    table = onboarding_experiment.c
    query = select(table.id, table.description, table.variants, table.is_active, table.created_at)
    if one:
        query = query.where(table.id == bindparam("experiment_id", type_=String))
    return query.order_by(table.created_at, table.id)


def parse_definition(row: Mapping[str, Any]) -> Experiment | None:
    try:
        return Experiment.model_validate(row)
    except ValidationError as error:
        # An operator's mistake in the table, not the caller's: the experiment is left out.
        logger.error(
            "invalid experiment definition", extra={"experiment_id": row.get("id"), "error": str(error)}
        )
        return None


# --- Assignment, in SQL: part of the statement that creates the state ---


def assignments(org_id: ColumnElement[str], chosen: ColumnElement[Any]) -> ScalarSelect[Any]:
    """The `experiments` value of a new state: a variant of every active experiment (see the module).

    `org_id` must be a bound value, not a column of the enclosing query: the innermost subquery would
    not correlate to it (SQLAlchemy correlates one level) and would read every organization instead.
    """
    experiment = onboarding_experiment.alias("e")
    choice = chosen.op("->>")(experiment.c.id)
    is_a_variant = experiment.c.variants.op("@>")(
        func.jsonb_build_array(func.jsonb_build_object(literal("id"), choice))
    )
    client = and_(choice.is_not(None), is_a_variant)
    variant = case((client, choice), else_=_hashed_variant(experiment, org_id))
    source = case((client, literal("client")), else_=literal("hash"))
    return (
        select(
            func.coalesce(
                func.jsonb_object_agg(
                    experiment.c.id,
                    func.jsonb_build_object(literal("variant"), variant, literal("source"), source),
                ),
                literal_column("'{}'::jsonb"),
            )
        )
        .where(experiment.c.is_active)
        .scalar_subquery()
    )


def _hashed_variant(experiment: Any, org_id: ColumnElement[str]) -> ScalarSelect[Any]:
    """The first variant whose cumulative weight exceeds the organization's bucket (md5, 32 bits)."""
    element = (
        func.jsonb_array_elements(experiment.c.variants)
        .table_valued("value", with_ordinality="position")
        .render_derived("v")
    )
    weight = cast(element.c.value.op("->>")(literal("weight")), Integer)
    weighted = select(
        element.c.value.op("->>")(literal("id")).label("id"),
        element.c.position,
        func.sum(weight).over(order_by=element.c.position).label("upto"),
        func.sum(weight).over().label("total"),
    ).subquery("w")
    key = func.md5(experiment.c.id.concat(":").concat(org_id))
    bucket = cast(cast(literal("x", String).concat(func.substr(key, 1, 8)), BIT(32)), BigInteger)
    return (
        select(weighted.c.id)
        .where(bucket % weighted.c.total < weighted.c.upto)
        .order_by(weighted.c.position)
        .limit(1)
        .scalar_subquery()
    )


# The rule `check_choices` enforces (the 422 detail `type`), listed under `x-rules` in openapi.json: the
# experiments are data, so no schema can name them.
CHOICE_RULE = "experiment"
CHOICE_RULES = {
    CHOICE_RULE: "Each key of `experiments` is an active experiment and its value one of that experiment's "
    "variants (`GET /v1/analytics/experiments` lists them).",
}


def check_choices(session: Session, choices: Mapping[str, str]) -> None:
    """422 unless each choice names an active experiment and one of its variants (read before the
    state is created, so that a wrong choice starts nothing)."""
    active = {experiment.id: experiment for experiment in definitions(session) if experiment.is_active}
    wrong = [
        field_error(
            f"body.experiments.{key}", "not an active experiment or not one of its variants", CHOICE_RULE
        )
        for key, variant in choices.items()
        if key not in active or variant not in {v.id for v in active[key].variants}
    ]
    if wrong:
        raise InvalidInput("The request is not valid: check body.experiments.", details=wrong)
