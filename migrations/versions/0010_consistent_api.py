"""One consistent API (issue 14): the sample-data size is stored, and stored timestamps are UTC `Z` text.

- `onboarding_state.sample_data_size` (`minimal` | `standard` | `comprehensive`, NULL when there is no
  sample data): the status routes answer it. Organizations that have sample data get the size they
  generated, read from their latest `sample_data_generated` metric.
- The wizard's answers (`wizard_step_data`) keep timestamps as JSON text. Earlier versions wrote
  `completed_at` / `updated_at` with `+00:00` and `event_datetime` with the offset it was sent with;
  the API now writes RFC 3339 in UTC with `Z` everywhere, and this rewrites the stored ones the same
  way (the same instants). The downgrade leaves them so: every version reads both forms.

Revision ID: 0010_consistent_api
Revises: 0009_metric_quota
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_consistent_api"
down_revision: str | None = "0009_metric_quota"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An ISO 8601 timestamp text as UTC `Z` text with microseconds only when there are any (as Python's
# isoformat and pydantic write them). Only values that carry an offset are touched.
_ISO_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$"


def _utc_text(value: str) -> str:
    instant = f"(({value})::timestamptz AT TIME ZONE 'UTC')"
    return (
        # Colons escaped: op.execute reads the SQL as sqlalchemy.text(), where `:name` is a parameter.
        f"to_char({instant}, 'YYYY-MM-DD\"T\"HH24\\:MI\\:SS')"
        f" || CASE WHEN extract(microseconds FROM {instant})::bigint % 1000000 <> 0"
        f" THEN to_char({instant}, '.US') ELSE '' END || 'Z'"
    )


def _normalized(step: str, key: str) -> str:
    value = f"{step}->>'{key}'"
    return (
        f"CASE WHEN jsonb_typeof({step}->'{key}') = 'string' AND {value} ~ '{_ISO_WITH_OFFSET}'"
        f" THEN jsonb_build_object('{key}', {_utc_text(value)}) ELSE '{{}}'::jsonb END"
    )


def upgrade() -> None:
    op.add_column("onboarding_state", sa.Column("sample_data_size", sa.String(20), nullable=True))
    op.create_check_constraint(
        op.f("ck_onboarding_state_sample_data_size_known"),
        "onboarding_state",
        "sample_data_size IN ('minimal', 'standard', 'comprehensive')",
    )
    op.execute(
        """
        UPDATE onboarding_state AS s
        SET sample_data_size = (
            SELECT m.event_data->>'size'
            FROM onboarding_metric AS m
            WHERE m.organization_id = s.organization_id
              AND m.event_type = 'sample_data_generated'
              AND m.event_data->>'size' IN ('minimal', 'standard', 'comprehensive')
            ORDER BY m.timestamp DESC, m.id DESC
            LIMIT 1
        )
        WHERE s.sample_data_generated
        """
    )
    step = "e.value"
    rewritten = " || ".join(
        [step, *(_normalized(step, key) for key in ("completed_at", "updated_at", "event_datetime"))]
    )
    # Built from the constants of this file only (no input).
    rewrite = f"""
        UPDATE onboarding_state AS s
        SET wizard_step_data = n.data
        FROM (
            SELECT s2.id,
                   jsonb_object_agg(
                       e.key, CASE WHEN jsonb_typeof({step}) = 'object' THEN {rewritten} ELSE {step} END
                   ) AS data
            FROM onboarding_state AS s2, jsonb_each(s2.wizard_step_data) AS e
            GROUP BY s2.id
        ) AS n
        WHERE n.id = s.id AND s.wizard_step_data IS DISTINCT FROM n.data
        """  # noqa: S608
    op.execute(rewrite)


def downgrade() -> None:
    op.drop_constraint(op.f("ck_onboarding_state_sample_data_size_known"), "onboarding_state", type_="check")
    op.drop_column("onboarding_state", "sample_data_size")
