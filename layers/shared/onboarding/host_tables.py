"""SignUpFlow's own tables that onboarding reads and writes (organizations, people, teams, events and
assignments), as Core tables: the baseline migration creates minimal versions where missing
(`BASELINE_TABLE_COMMENT`).

The service only counts, inserts and deletes rows of them in Core statements, so it uses these tables
directly: a Core `Table` costs a quarter of a mapped class at a cold start (bench/README.md, "Cold
start"). The ORM classes over the same tables (`models_host`, gathered by `onboarding.models`) are for
the tests and tools that add host rows as objects.
"""

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, String, Table, Text, false, func, select
from sqlalchemy.orm import Session

from onboarding.schema import BASELINE_TABLE_COMMENT, METADATA, SCHEMA_ONLY


def _org_id() -> Column[str]:
    return Column("org_id", String(50), ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False)


def _is_sample() -> Column[bool]:
    return Column("is_sample", Boolean, nullable=False, server_default=false())


organizations = Table(
    "organizations",
    METADATA,
    Column("id", String(50), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    comment=BASELINE_TABLE_COMMENT,
)

people = Table(
    "people",
    METADATA,
    Column("id", String(50), primary_key=True),
    _org_id(),
    Column("name", String(200), nullable=False),
    Column("email", String(254)),
    # Free text in SignUpFlow (the seed matches it with LIKE '%volunteer%'); counters cast it to text,
    # so a JSON array column in the host schema works the same.
    Column("roles", Text),
    _is_sample(),
    comment=BASELINE_TABLE_COMMENT,
)
SCHEMA_ONLY[people.name] = lambda: (Index(None, "org_id", "is_sample"),)

teams = Table(
    "teams",
    METADATA,
    Column("id", String(50), primary_key=True),
    _org_id(),
    Column("name", String(200), nullable=False),
    _is_sample(),
    comment=BASELINE_TABLE_COMMENT,
)
SCHEMA_ONLY[teams.name] = lambda: (Index(None, "org_id", "is_sample"),)

events = Table(
    "events",
    METADATA,
    Column("id", String(50), primary_key=True),
    _org_id(),
    Column("title", String(200), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    _is_sample(),
    comment=BASELINE_TABLE_COMMENT,
)
SCHEMA_ONLY[events.name] = lambda: (Index(None, "org_id", "is_sample"),)

event_assignments = Table(
    "event_assignments",
    METADATA,
    Column("id", String(50), primary_key=True),
    Column("event_id", String(50), ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("person_id", String(50), ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(100)),
    comment=BASELINE_TABLE_COMMENT,
)
SCHEMA_ONLY[event_assignments.name] = lambda: (
    Index(None, "event_id"),
    Index(None, "person_id"),
)

HOST_TABLES = ("organizations", "people", "teams", "events", "event_assignments")


def organization_exists(session: Session, org_id: str) -> bool:
    """Whether the host has the organization: one SELECT by primary key."""
    return session.scalar(select(organizations.c.id).where(organizations.c.id == org_id)) is not None
