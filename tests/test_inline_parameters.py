"""Parameters written into a statement's text (onboarding.inline_parameters): the same statement as
with bound parameters, one round trip instead of three; anything that is not provably the same is
sent with bound parameters."""

import math
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Engine, insert, select, text

from onboarding.db import unit_of_work
from onboarding.errors import DataConflict, InvalidInput
from onboarding.inline_parameters import inline, literal
from onboarding.models import Organization
from tools.wire import count_round_trips

SAFE_SERVER = {"standard_conforming_strings": "on", "client_encoding": "UTF8"}

AWKWARD_TEXT = [
    "",
    "plain",
    "'",
    "''",
    "it's",
    "\\",
    "\\'",
    "'\\",
    "ends with a backslash \\",
    "'; DROP TABLE organizations; --",
    "' OR '1'='1",
    "E'\\x41'",
    "$$ dollar $$",
    "$1 $2",
    "%s %% %(name)s %",
    "-- a comment",
    "/* a comment */",
    "line\nbreak\r\n\ttab",
    "é 日本語 🎉 \u200b",
    '"double" quotes',
    ";",
]


@pytest.fixture
def raw_connection(engine: Engine) -> Iterator[Any]:
    """A pg8000 connection of the test database (autocommit: each statement on its own)."""
    pooled = engine.raw_connection()
    connection = pooled.driver_connection
    assert connection is not None
    connection.autocommit = True
    try:
        yield connection
    finally:
        connection.autocommit = False  # the pool hands it out again
        pooled.close()


def both_ways(connection: Any, statement: str, *parameters: Any) -> tuple[list[Any], list[Any]]:
    """The rows of `statement` with `parameters` bound (pg8000), and with them written in."""
    cursor = connection.cursor()
    cursor.execute(statement, parameters)
    bound = [list(row) for row in cursor.fetchall()]
    written = inline(connection.parameter_statuses, statement, parameters)
    assert written is not None, (statement, parameters)
    cursor.execute(written)
    inlined = [list(row) for row in cursor.fetchall()]
    return bound, inlined


def test_a_list_written_in_reads_back_as_the_bound_array(raw_connection: Any) -> None:
    bound, inlined = both_ways(
        raw_connection,
        "SELECT CAST(%s AS TEXT[]), CAST(%s AS INTEGER[]), CAST(%s AS TEXT[]), CAST(%s AS TEXT[])",
        AWKWARD_TEXT,
        [1, -2, None, 2**31 - 1],
        [],
        ["NULL", None, "{", "}", ",", '"'],
    )
    assert inlined == bound
    assert bound[0][0] == AWKWARD_TEXT


@pytest.mark.parametrize("value", AWKWARD_TEXT, ids=repr)
def test_text_written_in_reads_back_exactly_as_bound(raw_connection: Any, value: str) -> None:
    bound, inlined = both_ways(raw_connection, "SELECT CAST(%s AS TEXT), %s, length(%s)", value, value, value)
    assert inlined == bound == [[value, value, len(value)]]


@pytest.mark.parametrize(
    ("value", "sql_type"),
    [
        (0, "INTEGER"),
        (-1, "INTEGER"),
        (2**31, "BIGINT"),
        (-(2**63), "BIGINT"),
        (10**30, "NUMERIC"),
        (True, "BOOLEAN"),
        (False, "BOOLEAN"),
        (None, "INTEGER"),
        (0.1, "DOUBLE PRECISION"),
        (-1e-300, "DOUBLE PRECISION"),
        (math.inf, "DOUBLE PRECISION"),
        (Decimal("1.10"), "NUMERIC"),
        (Decimal("-0.000001"), "NUMERIC"),
        (datetime(2026, 12, 6, 21, 30, 15, 123456, tzinfo=UTC), "TIMESTAMP WITH TIME ZONE"),
        (datetime(2026, 3, 1, 1, 2, 3, tzinfo=timezone(timedelta(hours=-5))), "TIMESTAMP WITH TIME ZONE"),
        (datetime(2026, 12, 6, 21, 30, 15), "TIMESTAMP WITHOUT TIME ZONE"),
        (date(2026, 2, 28), "DATE"),
        (UUID("12345678-1234-5678-1234-567812345678"), "UUID"),
        (timedelta(days=30), "INTERVAL"),
        (timedelta(days=-1, seconds=5, microseconds=7), "INTERVAL"),
        ('{"a": "it\'s", "b": [1, "\\\\"]}', "JSONB"),
    ],
    ids=repr,
)
def test_each_kind_of_value_written_in_reads_back_as_bound(
    raw_connection: Any, value: Any, sql_type: str
) -> None:
    bound, inlined = both_ways(
        raw_connection, f"SELECT CAST(%s AS {sql_type}), CAST(%s AS TEXT)", value, value
    )
    assert inlined == bound


def test_not_a_number_written_in_reads_back_as_bound(raw_connection: Any) -> None:
    bound, inlined = both_ways(raw_connection, "SELECT CAST(%s AS DOUBLE PRECISION)", math.nan)
    assert math.isnan(bound[0][0]) and math.isnan(inlined[0][0])


def test_an_untyped_value_is_inferred_as_bound(raw_connection: Any) -> None:
    # pg8000 binds every value as untyped text; a written-in value is an untyped literal.
    bound, inlined = both_ways(raw_connection, "SELECT %s, %s + 1, %s || 'x'", "7", 7, "a")
    assert inlined == bound == [["7", 8, "ax"]]


def test_placeholders_in_quotes_and_comments_are_left_as_pg8000_leaves_them(raw_connection: Any) -> None:
    statement = "SELECT 'a %%s '' b' AS quoted, %s AS value, \"%%s\" FROM (SELECT 1 AS \"%%s\") AS t -- %s\n"
    bound, inlined = both_ways(raw_connection, statement, "v")
    assert inlined == bound


def test_a_server_without_standard_conforming_strings_gets_bound_parameters(raw_connection: Any) -> None:
    # A backslash in '...' is an escape character then: doubling quotes would not be enough.
    cursor = raw_connection.cursor()
    cursor.execute("SET standard_conforming_strings = off")
    try:
        assert raw_connection.parameter_statuses["standard_conforming_strings"] == "off"
        assert inline(raw_connection.parameter_statuses, "SELECT %s", ("\\'",)) is None
    finally:
        cursor.execute("RESET standard_conforming_strings")
    assert inline(raw_connection.parameter_statuses, "SELECT %s", ("\\'",)) == "SELECT '\\'''"


@pytest.mark.parametrize(
    "server",
    [
        {},
        {"standard_conforming_strings": "off", "client_encoding": "UTF8"},
        {"standard_conforming_strings": "on", "client_encoding": "SQL_ASCII"},
    ],
)
def test_only_a_server_that_reports_both_safe_settings_gets_values_written_in(server: dict[str, str]) -> None:
    assert inline(server, "SELECT %s", (1,)) is None
    assert inline(SAFE_SERVER, "SELECT %s", (1,)) == "SELECT '1'"


class Colour(StrEnum):
    RED = "red"


@pytest.mark.parametrize(
    "value",
    [
        "a\x00b",
        ["a\x00b"],
        b"bytes",
        bytearray(b"x"),
        {"a": 1},
        (1,),
        Colour.RED,
        object(),
    ],
    ids=lambda value: type(value).__name__,  # stable across test workers (an object's repr is not)
)
def test_a_value_that_cannot_be_written_in_sends_the_statement_bound(value: Any) -> None:
    assert literal(value) is None
    assert inline(SAFE_SERVER, "SELECT %s, %s", (1, value)) is None


@pytest.mark.parametrize(
    ("statement", "parameters"),
    [
        ("SELECT $$%s$$, %s", (1, 2)),  # a dollar-quoted string: `$` of its own
        ("SELECT %s", (1, 2)),  # more values than placeholders
        ("SELECT %s, %s", (1,)),  # fewer
        ("SELECT %d", (1,)),  # not a pg8000 placeholder
    ],
)
def test_a_statement_that_cannot_be_split_surely_is_sent_bound(
    statement: str, parameters: tuple[Any, ...]
) -> None:
    assert inline(SAFE_SERVER, statement, parameters) is None


# --- Through the service's engine ---


@pytest.fixture
def service_engine(local_engine: Callable[..., Engine]) -> Engine:
    return local_engine()


def test_a_write_with_awkward_text_commits_exactly_that_text(db, make_org) -> None:
    org_id = make_org("org_awkward")
    name = "O'Brien \\ Sons '; DROP TABLE organizations; -- é🎉"
    with unit_of_work() as session:
        session.execute(Organization.__table__.update().where(Organization.id == org_id).values(name=name))
    db.expire_all()
    assert db.get(Organization, org_id).name == name


def test_a_value_the_database_refuses_is_a_clear_error_and_changes_nothing(db, make_org) -> None:
    org_id = make_org("org_nul")
    with pytest.raises(InvalidInput), unit_of_work() as session:
        session.execute(
            Organization.__table__.update().where(Organization.id == org_id).values(name="a\x00b")
        )
    db.expire_all()
    assert db.get(Organization, org_id).name != "a\x00b"


def test_a_failed_statement_that_opened_the_transaction_rolls_back_and_the_connection_serves_on(
    db, make_org
) -> None:
    taken = make_org("org_taken")
    with pytest.raises(DataConflict), unit_of_work() as session:
        # Its BEGIN travels with it; the statement fails; the unit of work rolls the transaction back.
        session.execute(insert(Organization).values(id=taken, name="Again"))
    with count_round_trips() as wire, unit_of_work() as session:
        session.execute(insert(Organization).values(id="org_after_conflict", name="After"))
    assert wire.round_trips == 2  # BEGIN with the INSERT, COMMIT: no transaction was left open
    assert db.get(Organization, "org_after_conflict") is not None


def test_a_unit_of_work_that_fails_after_its_first_write_leaves_nothing(db) -> None:
    with pytest.raises(RuntimeError), unit_of_work() as session:
        session.execute(insert(Organization).values(id="org_rolled_back", name="Rolled back"))
        raise RuntimeError("the request fails after its write")
    assert db.get(Organization, "org_rolled_back") is None


def test_a_rollback_after_a_written_in_statement_is_one_round_trip(service_engine: Engine) -> None:
    with service_engine.connect() as connection:
        connection.execute(select(Organization.id).where(Organization.id == "nobody"))
        with count_round_trips() as wire:
            connection.rollback()
    assert wire.round_trips == 1


def test_every_statement_of_a_transaction_after_the_first_is_one_round_trip(service_engine: Engine) -> None:
    with service_engine.connect() as connection:
        connection.execute(text("SELECT 1"))  # the connection and the dialect's own first statements
    with count_round_trips() as wire, service_engine.begin() as connection:
        connection.execute(text("SELECT CAST(:a AS TEXT)"), {"a": "first"})
        connection.execute(text("SELECT CAST(:a AS INTEGER)"), {"a": 2})
        connection.execute(text("SELECT CAST(:a AS BOOLEAN)"), {"a": True})
    assert wire.round_trips == 4  # BEGIN with the first, the second, the third, COMMIT


def test_a_bound_first_statement_opens_the_transaction_once(service_engine: Engine) -> None:
    # Bytes are not written in: pg8000 sends BEGIN before that statement; the next one, written in,
    # must not carry a second BEGIN (PostgreSQL would warn "there is already a transaction in progress").
    with service_engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    with count_round_trips() as wire, service_engine.begin() as connection:
        connection.execute(text("SELECT CAST(:a AS BYTEA)"), {"a": b"bound"})
        connection.execute(text("SELECT CAST(:a AS TEXT)"), {"a": "written in"})
        notices = connection.connection.dbapi_connection.notices  # type: ignore[union-attr]
        assert not [notice for notice in notices if b"already a transaction" in notice.get(b"M", b"")]
    assert wire.round_trips == 1 + 3 + 1 + 1  # BEGIN, the bound statement, the written-in one, COMMIT
