"""Statements and wire round trips per request for every route of template.yaml, on the paths bench/
measures.

Each route declares its measured paths and their statements next to it (`@measured` in its handler,
onboarding/measured.py); tools/scenarios.py arranges each path, and the counts are asserted here
(exact and stable, unlike times; bench/README.md has the times). They may only go down. A statement
is what SQLAlchemy sends (`before_cursor_execute`). Targets (issue 8): the checklist GET is 1
statement, no route above 3 on its common path, plus the transactional outbox's INSERT on a path that
causes a domain event (docs/events.md).

Wire round trips (tools/wire.py: every wait for the server, pings, BEGIN and COMMIT included) are what
a network hop multiplies. Targets (issue 16): a one-statement read at most 3 (the statement alone: no
ping, no BEGIN, no COMMIT), every other request at most 3 per statement + 2 (BEGIN and COMMIT).
"""

import pytest

from tests.sql_statements import compiled_statements, recorded_statements
from tools.scenarios import Scenario, scenarios
from tools.template import http_routes
from tools.wire import count_round_trips

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
    with recorded_statements() as statements, count_round_trips() as wire:
        second.send()
    assert len(statements) == scenario.statements, statements
    assert wire.round_trips <= scenario.round_trip_limit, (wire.round_trips, statements)
    if scenario.common:
        # At most 3 on a common path, and the outbox INSERT where the path causes a domain event.
        causes_event = any(statement.lstrip().startswith(OUTBOX_INSERT) for statement in statements)
        assert scenario.statements <= 3 + causes_event, statements


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda scenario: scenario.name)
def test_a_warm_request_compiles_no_statement(scenario: Scenario, engine, database_url) -> None:
    # Every statement of a repeated request comes out of SQLAlchemy's compiled cache. A statement
    # without a cache key (a VALUES list of literal rows, for one) is compiled again on every request:
    # 2-4 ms for the analytics funnel (bench/README.md, "CPU (target 3)").
    # Two calls first: a path's first calls may take two shapes (a task completed, then undone).
    *warm_up, measured = scenario.arrange(engine, "rtc_", 3)
    for call in warm_up:
        call.send()
    with compiled_statements() as statements:
        measured.send()
    assert statements
    assert [statement[:200] for statement, compiled in statements if compiled] == []


def test_a_state_read_takes_one_round_trip_and_a_two_statement_write_three(engine, database_url) -> None:
    # Exact on two representative paths: the checklist GET (its state read alone: sent without
    # parameters, pg8000's simple protocol, 1) and a two-statement write (BEGIN with the state read
    # under its lock 1, the UPDATE with its parameters written in 1, COMMIT 1).
    read = next(s for s in scenarios() if s.route_key == "GET /v1/onboarding/checklist")
    write = next(s for s in scenarios() if s.route_key == "PUT /v1/onboarding/preferences")
    for prefix, scenario, expected in (("rtx_r_", read, 1), ("rtx_w_", write, 3)):
        first, second = scenario.arrange(engine, prefix, 2)
        first.send()
        with count_round_trips() as wire:
            second.send()
        assert wire.round_trips == expected, scenario.name


@pytest.mark.parametrize(
    "scenario", [s for s in scenarios() if s.reads_only], ids=lambda scenario: scenario.name
)
def test_a_get_starts_with_a_plain_read(scenario: Scenario, engine, database_url) -> None:
    # What lets a GET's first statement run without a transaction: it writes nothing and locks nothing.
    first, second = scenario.arrange(engine, "rtr_", 2)
    first.send()
    with recorded_statements() as statements:
        second.send()
    head = statements[0].lstrip().upper()
    assert head.startswith("SELECT"), statements[0][:200]
    for clause in ("FOR UPDATE", "FOR SHARE", "FOR NO KEY UPDATE", "FOR KEY SHARE"):
        assert clause not in head, statements[0][:200]


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda scenario: scenario.name)
def test_every_statement_is_one_round_trip_and_the_commit_one_more(
    scenario: Scenario, engine, database_url
) -> None:
    # Every value of every measured path is written into its statement (onboarding/inline_parameters.py)
    # and BEGIN travels with the transaction's first statement: a statement that fell back to bound
    # parameters (3 round trips) fails this.
    first, second = scenario.arrange(engine, "rt1_", 2)
    first.send()
    with recorded_statements() as statements, count_round_trips() as wire:
        second.send()
    assert wire.round_trips <= len(statements) + 1, (wire.round_trips, statements)
