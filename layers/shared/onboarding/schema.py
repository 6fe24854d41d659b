"""What the Core tables (`tables`, `host_tables`) and the declarative models (`models_base`) share: the
metadata with its naming convention, server defaults, and each table's DDL-only objects.

The service's functions import this, never `models_base`: a cold start creates no declarative base
(bench/README.md, "Cold start"; `tests/test_function_imports.py`).
"""

from collections.abc import Callable

from sqlalchemy import Constraint, Index, MetaData, text

# Deterministic constraint names, so migrations and models agree and downgrades can name what they drop.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# Every table, Core and mapped (`models_base.Base.metadata` is this one).
METADATA = MetaData(naming_convention=NAMING_CONVENTION)

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
        table = METADATA.tables[name]
        for item in build():
            table.append_constraint(item)
