"""Set-based arrangement of data: organizations, onboarding states, real and sample rows, metrics.

Everything here is one statement per table for any number of organizations (`unnest` of an id array,
`generate_series` for row counts), so arranging thousands of organizations takes well under a second.
Nothing here is measured; it only puts the database into the state a measured request expects
(`tools/scenarios.py`, for bench/ and tests/test_round_trips.py).
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, text, update

from onboarding.models import Event, EventAssignment, OnboardingState, Person, Team
from onboarding.sample_data import SIZES, SampleSize, build_sample_rows

# pg8000 sends a Python list as an array; the cast names its element type.
_IDS = "CAST(:ids AS varchar[])"


def org_ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{index:06d}" for index in range(count)]


def create_orgs(connection: Connection, ids: Sequence[str]) -> None:
    connection.execute(
        text(f"INSERT INTO organizations (id, name) SELECT id, 'Bench ' || id FROM unnest({_IDS}) AS id"),
        {"ids": list(ids)},
    )


def start_onboarding(
    connection: Connection,
    ids: Sequence[str],
    *,
    step: int = 1,
    step_data: dict[str, Any] | None = None,
    checklist_progress: dict[str, Any] | None = None,
    started_days_ago: float = 2.0,
) -> None:
    """Onboarding states as POST /v1/onboarding and the wizard leave them, at `step`."""
    connection.execute(
        text(
            "INSERT INTO onboarding_state (organization_id, wizard_current_step, wizard_step_data,"
            " checklist_progress, started_at, updated_at)"
            f" SELECT id, :step, CAST(:data AS jsonb), CAST(:progress AS jsonb),"
            " now() - make_interval(secs => :ago), now() - make_interval(secs => :ago)"
            f" FROM unnest({_IDS}) AS id"
        ),
        {
            "ids": list(ids),
            "step": step,
            "data": json.dumps(step_data or {}),
            "progress": json.dumps(checklist_progress or {}),
            "ago": started_days_ago * 86400,
        },
    )


def add_real_activity(
    connection: Connection,
    ids: Sequence[str],
    *,
    events: int = 3,
    teams: int = 2,
    volunteers: int = 8,
    assignments_per_event: int = 2,
) -> None:
    """Real (non-sample) events, teams, volunteers and assignments: what the counters count."""
    params = {"ids": list(ids)}
    connection.execute(
        text(
            "INSERT INTO events (id, org_id, title, start_time, end_time)"
            " SELECT 'ev_' || o || '_' || g, o, 'Service ' || g,"
            " now() + make_interval(days => g), now() + make_interval(days => g, hours => 2)"
            f" FROM unnest({_IDS}) AS o, generate_series(1, :n) AS g"
        ),
        {**params, "n": events},
    )
    connection.execute(
        text(
            "INSERT INTO teams (id, org_id, name) SELECT 'tm_' || o || '_' || g, o, 'Team ' || g"
            f" FROM unnest({_IDS}) AS o, generate_series(1, :n) AS g"
        ),
        {**params, "n": teams},
    )
    connection.execute(
        text(
            "INSERT INTO people (id, org_id, name, email, roles)"
            " SELECT 'pp_' || o || '_' || g, o, 'Volunteer ' || g, 'v' || g || '@example.org',"
            " '[\"volunteer\"]' FROM unnest(" + _IDS + ") AS o, generate_series(1, :n) AS g"
        ),
        {**params, "n": volunteers},
    )
    connection.execute(
        text(
            "INSERT INTO event_assignments (id, event_id, person_id, role)"
            " SELECT 'as_' || o || '_' || e || '_' || s, 'ev_' || o || '_' || e,"
            " 'pp_' || o || '_' || (mod(e + s, :people) + 1), 'Greeter'"
            f" FROM unnest({_IDS}) AS o, generate_series(1, :events) AS e, generate_series(1, :per) AS s"
        ),
        {**params, "events": events, "per": assignments_per_event, "people": volunteers},
    )


def add_metrics(connection: Connection, ids: Sequence[str], *, per_org: int) -> None:
    """Service-style metric rows over the past week (what the export and the view_reports counter read)."""
    connection.execute(
        text(
            "INSERT INTO onboarding_metric (organization_id, event_type, event_data, wizard_step_reached,"
            " timestamp)"
            " SELECT o, (ARRAY['wizard_step_viewed','checklist_viewed','view_reports'])[mod(g, 3) + 1],"
            " jsonb_build_object('n', g), CASE WHEN mod(g, 3) = 0 THEN mod(g, 5) + 1 END,"
            " now() - make_interval(mins => g * 7)"
            f" FROM unnest({_IDS}) AS o, generate_series(1, :n) AS g"
        ),
        {"ids": list(ids), "n": per_org},
    )


def add_tutorials(connection: Connection, ids: Sequence[str], tutorials: Sequence[tuple[str, int]]) -> None:
    """In-progress tutorial records (viewed, one step done) for each organization."""
    connection.execute(
        text(
            "INSERT INTO onboarding_tutorial_completion (organization_id, tutorial_id, total_steps,"
            " steps_completed, last_viewed_at)"
            f" SELECT o, t.id, t.steps, 1, now() - interval '1 hour' FROM unnest({_IDS}) AS o,"
            " unnest(CAST(:tutorials AS varchar[]), CAST(:steps AS int[])) AS t(id, steps)"
        ),
        {"ids": list(ids), "tutorials": [t for t, _ in tutorials], "steps": [s for _, s in tutorials]},
    )


def add_sample_data(
    connection: Connection,
    ids: Sequence[str],
    size: SampleSize,
    *,
    expires_in: timedelta = timedelta(days=30),
) -> int:
    """The rows POST /v1/onboarding/sample-data writes (same builder), for many organizations at once.

    Returns the number of sample rows written. States must exist (`start_onboarding`).
    """
    now = datetime.now(UTC)
    built = [build_sample_rows(org, SIZES[size], timezone=ZoneInfo("UTC"), now=now, roles=()) for org in ids]
    written = 0
    for model, key in (
        (Team, "teams"),
        (Person, "people"),
        (Event, "events"),
        (EventAssignment, "assignments"),
    ):
        rows = [row for b in built for row in getattr(b, key)]
        insert_rows(connection, model, rows)
        written += len(rows)
    connection.execute(
        update(OnboardingState)
        .where(OnboardingState.organization_id.in_(list(ids)))
        .values(
            sample_data_generated=True,
            sample_data_cleared=False,
            sample_data_generated_at=now,
            sample_data_expiry=now + expires_in,
        )
    )
    return written


def insert_rows(connection: Connection, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Multi-row INSERTs, as many rows per statement as the protocol's 32 767 parameters allow."""
    if not rows:
        return
    per_statement = max(1, 30_000 // len(rows[0]))
    for start in range(0, len(rows), per_statement):
        connection.execute(insert(model).values(list(rows[start : start + per_statement])))


def vacuum_analyze(connection: Connection) -> None:
    """Fresh planner statistics and visibility maps, as autovacuum would have them on a live database."""
    connection.execute(text("VACUUM ANALYZE"))
