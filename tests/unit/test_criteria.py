"""Checklist criteria: only the whitelisted shapes parse, and each evaluates against the org's facts."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from onboarding.checklist import (
    MAX_CRITERIA_DEPTH,
    Facts,
    InvalidCriterion,
    became_true,
    evaluate,
    parse_criterion,
)
from onboarding.counters import Counter

FACTS = Facts(
    state={
        "wizard_completed": True,
        "skipped": False,
        "sample_data_generated": False,
        "show_all_features": False,
        "wizard_current_step": 3,
    },
    counters={
        Counter.REAL_EVENTS: 1,
        Counter.REAL_TEAMS: 0,
        Counter.REAL_VOLUNTEERS: 3,
        Counter.REAL_ASSIGNMENTS: 2,
        Counter.VIEW_REPORTS_EVENTS: 0,
    },
)


def counter(name: str, threshold: int, operator: str | None = None) -> dict[str, Any]:
    criterion: dict[str, Any] = {"type": "database_query", "counter": name, "threshold": threshold}
    return criterion | ({"operator": operator} if operator else {})


def state(field: str, value: bool | int, operator: str | None = None) -> dict[str, Any]:
    criterion: dict[str, Any] = {"type": "state_check", "field": field, "value": value}
    return criterion | ({"operator": operator} if operator else {})


def nested(depth: int) -> dict[str, Any]:
    criterion = counter("real_events", 1)
    for _ in range(depth - 1):
        criterion = {"type": "composite_and", "criteria": [criterion]}
    return criterion


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [
        (counter("real_events", 1), True),  # the default operator is >=
        (counter("real_events", 2), False),
        (counter("real_volunteers", 3, ">="), True),
        (counter("real_volunteers", 3, ">"), False),
        (counter("real_assignments", 2, "=="), True),
        (counter("real_assignments", 2, "!="), False),
        (counter("real_teams", 0, "<="), True),
        (counter("real_teams", 0, "<"), False),
        (counter("view_reports_events", 1), False),
        (state("wizard_completed", True), True),  # the default operator is ==
        (state("skipped", True), False),
        (state("skipped", True, "!="), True),
        (state("wizard_current_step", 3, ">="), True),
        (state("wizard_current_step", 4, ">="), False),
        ({"type": "composite_and", "criteria": [counter("real_events", 1), state("skipped", False)]}, True),
        ({"type": "composite_and", "criteria": [counter("real_events", 1), counter("real_teams", 1)]}, False),
        ({"type": "composite_or", "criteria": [counter("real_teams", 1), counter("real_events", 1)]}, True),
        ({"type": "composite_or", "criteria": [counter("real_teams", 1), state("skipped", True)]}, False),
        (
            {
                "type": "composite_or",
                "criteria": [
                    {
                        "type": "composite_and",
                        "criteria": [counter("real_teams", 1), counter("real_events", 1)],
                    },
                    {
                        "type": "composite_and",
                        "criteria": [state("wizard_completed", True), counter("real_events", 1)],
                    },
                ],
            },
            True,
        ),
        ({**counter("real_events", 1), "description": "At least one real event"}, True),
    ],
)
def test_a_criterion_evaluates_against_the_organizations_facts(
    criterion: dict[str, Any], expected: bool
) -> None:
    assert evaluate(parse_criterion(criterion), FACTS) is expected


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "sql", "query": "SELECT count(*) FROM events"},
        {"type": "database_query", "query": "SELECT 1", "threshold": 1},
        counter("events; DROP TABLE events", 1),
        counter("real_events", -1),
        counter("real_events", 1_000_001),
        {"type": "database_query", "counter": "real_events", "threshold": "1"},
        {"type": "database_query", "counter": "real_events", "threshold": 1.0},
        counter("real_events", 1, "LIKE"),
        {**counter("real_events", 1), "sql": "SELECT 1"},
        state("organization_id", True),
        state("wizard_completed", True, ">"),
        state("wizard_completed", 1),
        state("wizard_current_step", 6),
        state("wizard_current_step", True),
        {"type": "composite_and", "criteria": []},
        {"type": "composite_or", "criteria": [counter("real_events", 1)] * 21},
        nested(MAX_CRITERIA_DEPTH + 1),
        {"type": "composite_and"},
        "real_events >= 1",
        None,
        [],
    ],
)
def test_anything_outside_the_whitelist_is_refused(raw: object) -> None:
    with pytest.raises(InvalidCriterion):
        parse_criterion(raw)


def test_criteria_nested_far_beyond_the_depth_limit_are_refused_not_a_recursion_error() -> None:
    with pytest.raises(InvalidCriterion, match="nest deeper"):
        parse_criterion(nested(5_000))


def test_criteria_may_nest_up_to_the_depth_limit() -> None:
    assert evaluate(parse_criterion(nested(MAX_CRITERIA_DEPTH)), FACTS) is True


# --- When a criterion became true ---

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TIMED = Facts(
    state={**FACTS.state},
    counters={**FACTS.counters},
    since={"wizard_completed": T0, "skipped": None},
    steps_reached_at={2: T0 - timedelta(hours=2), 3: T0 - timedelta(hours=1)},
    row_times={
        Counter.REAL_VOLUNTEERS: (T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)),
        Counter.REAL_EVENTS: (T0 + timedelta(days=1),),
    },
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (counter("real_volunteers", 3), T0 + timedelta(minutes=2)),  # the third row crossed it
        (counter("real_volunteers", 1), T0),
        (counter("real_volunteers", 2, ">"), T0 + timedelta(minutes=2)),
        (counter("real_volunteers", 4), None),  # not reached: no crossing row
        (counter("real_volunteers", 3, "=="), None),  # equality can stop holding and hold again
        (counter("real_assignments", 1), None),  # no known row times
        (state("wizard_completed", True), T0),
        (state("skipped", True), None),
        (state("show_all_features", True), None),
        (state("wizard_current_step", 3, ">="), T0 - timedelta(hours=1)),
        (state("wizard_current_step", 2, ">"), T0 - timedelta(hours=1)),
        (state("wizard_current_step", 3, "<="), None),
        ({"type": "composite_and", "criteria": [counter("real_volunteers", 1), counter("real_events", 1)]},
         T0 + timedelta(days=1)),  # the later of the two
        ({"type": "composite_and", "criteria": [counter("real_volunteers", 1), counter("real_assignments", 1)]},
         None),
        ({"type": "composite_or", "criteria": [counter("real_volunteers", 1), counter("real_events", 1)]}, T0),
        ({"type": "composite_or", "criteria": [counter("real_events", 1), counter("real_assignments", 1)]},
         None),  # a part that holds at an unknown time may have held first
        ({"type": "composite_or", "criteria": [counter("real_events", 1), counter("real_teams", 1)]},
         T0 + timedelta(days=1)),  # real_teams does not hold: only real_events counts
    ],
)  # fmt: skip
def test_when_a_criterion_became_true(raw: dict[str, Any], expected: datetime | None) -> None:
    assert became_true(parse_criterion(raw), TIMED) == expected
