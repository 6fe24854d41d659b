"""The declarative base of the SQLAlchemy 2 typed models, and what the model modules share.

The models are split per concept (`models_state`, `models_host`, `models_metrics`...) so that a function
maps only the tables its code uses: mapping a class is most of the service's own import time at a
cold start (bench/README.md, "Cold start"). `onboarding.models` imports every one of them: migrations,
the schema tests and the tools use it to see the whole schema.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Constraint, DateTime, Index, MetaData, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names, so migrations and models agree and downgrades can name what they drop.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Marks host tables that the baseline migration created itself (and may therefore drop on downgrade).
BASELINE_TABLE_COMMENT = "minimal host table created by signupflow-onboarding baseline migration"

EMPTY_JSON_OBJECT = text("'{}'::jsonb")
EMPTY_JSON_ARRAY = text("'[]'::jsonb")

# Table name -> what builds its DDL-only objects (CHECK constraints, indexes, named unique constraints),
# written beside each Core table (`tables`, `host_tables`). Statements never read them, so a function's
# cold start does not build them; `add_schema_only_objects` attaches them for DDL.
SCHEMA_ONLY: dict[str, Callable[[], tuple[Constraint | Index, ...]]] = {}


def add_schema_only_objects() -> None:
    """Attach every table's DDL-only objects to it, once. `onboarding.models` calls it, so its
    `Base.metadata` is the whole schema, as migrations and the schema drift test compare it."""
    while SCHEMA_ONLY:
        name, build = SCHEMA_ONLY.popitem()
        table = Base.metadata.tables[name]
        for item in build():
            table.append_constraint(item)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
        list[str]: JSONB,
    }
