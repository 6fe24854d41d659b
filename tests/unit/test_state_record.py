"""The onboarding-state read model: the record holds every column, one statement per kind of read."""

from zoneinfo import ZoneInfo

from sqlalchemy import create_engine

from onboarding import checklist, sample_data, state
from onboarding.models import OnboardingState
from tests.fixtures import state_record as record

DIALECT = create_engine("postgresql+pg8000://").dialect  # never connects


def test_the_record_holds_exactly_the_columns_of_the_table() -> None:
    assert set(state.STATE_COLUMNS) == {column.name for column in OnboardingState.__table__.columns}


def test_each_kind_of_read_is_built_once_and_binds_the_organization() -> None:
    for reading in (state.MILESTONES, sample_data.STATUS, checklist.READING):
        assert state.statement(reading) is state.statement(reading)
        sql = str(state.statement(reading).compile(dialect=DIALECT))
        assert "s.organization_id = %s" in sql and "FOR UPDATE" not in sql


def test_a_locked_read_locks_the_state_row_only() -> None:
    sql = str(state.statement(state.MILESTONES, lock=True).compile(dialect=DIALECT))
    assert sql.endswith("FOR UPDATE OF s")


def test_the_organizations_time_zone_comes_from_wizard_step_1() -> None:
    assert state.organization_timezone(
        record(wizard_step_data={"step_1": {"timezone": "America/Toronto"}})
    ) == ZoneInfo("America/Toronto")
    assert state.organization_timezone(record()) == ZoneInfo("UTC")
    assert state.organization_timezone(
        record(wizard_step_data={"step_1": {"timezone": "Mars/Base"}})
    ) == ZoneInfo("UTC")
