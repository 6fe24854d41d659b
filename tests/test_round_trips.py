"""Statements per request for every route of template.yaml, on the paths bench/ measures.

Each route declares its measured paths and their statements next to it (`@measured` in its handler,
onboarding/measured.py); tools/scenarios.py arranges each path, and the counts are asserted here
(exact and stable, unlike times; bench/README.md has the times). They may only go down. A statement
is what SQLAlchemy sends (`before_cursor_execute`). The pool's ping (only after the connection idled),
BEGIN and COMMIT are not cursor executes and are not counted; bench/ reports them as wire round trips.
Targets (issue 8): the checklist GET is 1 statement, no route above 3 on its common path, plus the
transactional outbox's INSERT on a path that causes a domain event (docs/events.md).
"""

import pytest

from tests.sql_statements import recorded_statements
from tools.scenarios import Scenario, scenarios
from tools.template import http_routes

OUTBOX_INSERT = "INSERT INTO onboarding_outbox"


def test_every_route_of_the_template_declares_one_measured_common_path() -> None:
    common = [scenario.route_key for scenario in scenarios() if scenario.common]
    assert sorted(common) == sorted(route.route_key for route in http_routes())


def test_the_checklist_get_is_one_statement() -> None:
    [checklist] = [s for s in scenarios() if s.route_key == "GET /v1/onboarding/checklist"]
    assert checklist.statements == 1


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda scenario: scenario.name)
def test_statements_per_request(scenario: Scenario, engine, database_url) -> None:
    first, second = scenario.arrange(engine, "rt_", 2)
    first.send()  # first use: the engine's own setup
    with recorded_statements() as statements:
        second.send()
    assert len(statements) == scenario.statements, statements
    if scenario.common:
        # At most 3 on a common path, and the outbox INSERT where the path causes a domain event.
        causes_event = any(statement.lstrip().startswith(OUTBOX_INSERT) for statement in statements)
        assert scenario.statements <= 3 + causes_event, statements
