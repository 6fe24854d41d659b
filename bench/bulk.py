"""Set-based bulk loading for the benchmark's large tables (10 M metric rows in minutes, not an hour).

Loading row by row into a table with its indexes and foreign key pays, per row, every index insert and
a queued foreign-key check (10 M RI lookups at the end of the statement). `bulk_load` does what a DBA
does for an initial load instead: it saves the table's index and key definitions, drops them, runs the
set-based INSERT ... SELECT statements, then builds every index once (a sort each), adds the keys back
(the foreign key validated by one join per partition) and ANALYZEs. The definitions come back exactly
as they were (same names, same columns), so a migration run afterwards finds the schema it expects.

Works on a plain table and on a partitioned one (its partitioned indexes and keys are dropped and
rebuilt on every partition). CHECK constraints stay: they cost nothing per row.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

MAINTENANCE_WORK_MEM = "512MB"  # for the index builds of this transaction only


@dataclass(frozen=True)
class Definitions:
    indexes: list[str]  # CREATE INDEX statements of indexes that back no constraint
    constraints: list[tuple[str, str, str]]  # (name, contype, definition): primary, unique, foreign keys


def definitions(connection: Connection, table: str) -> Definitions:
    """The indexes and keys of `table` (in the current schema) as statements that recreate them."""
    indexes = connection.scalars(
        text(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid = CAST(:table AS regclass)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid"
            "                 AND c.conrelid = i.indrelid)"
            " ORDER BY i.indexrelid"
        ),
        {"table": table},
    ).all()
    constraints = connection.execute(
        text(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = CAST(:table AS regclass) AND contype IN ('p', 'u', 'f')"
            " AND conparentid = 0 ORDER BY contype DESC, conname"
        ),
        {"table": table},
    ).all()
    # A partitioned table's index definition reads "ON ONLY <table>": recreated without ONLY, so that
    # every partition gets its index too.
    return Definitions(
        indexes=[index.replace(" ON ONLY ", " ON ") for index in indexes],
        constraints=[(str(name), str(kind), str(definition)) for name, kind, definition in constraints],
    )


def bulk_load(
    connection: Connection, table: str, statements: Sequence[tuple[str, dict[str, Any]]]
) -> dict[str, float]:
    """Run `statements` (set-based INSERTs into `table`) with its indexes and keys built afterwards.

    Runs in the caller's transaction: a failure leaves the table as it was. Returns seconds per phase.
    """
    saved = definitions(connection, table)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    connection.execute(text(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'"))
    # Foreign keys first (a primary key may be referenced by nothing else here; a unique key neither).
    for name, _kind, _definition in sorted(saved.constraints, key=lambda c: c[1] != "f"):
        connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for index in saved.indexes:
        name = index.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
        connection.execute(text(f"DROP INDEX {name}"))
    timings["drop_s"] = time.perf_counter() - started

    started = time.perf_counter()
    for statement, params in statements:
        connection.execute(text(statement), params)
    timings["insert_s"] = time.perf_counter() - started

    started = time.perf_counter()
    for name, kind, definition in sorted(saved.constraints, key=lambda c: c[1] == "f"):
        if kind != "f":
            connection.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    for index in saved.indexes:
        connection.execute(text(index))
    timings["index_s"] = time.perf_counter() - started
    started = time.perf_counter()
    for name, kind, definition in saved.constraints:
        if kind == "f":  # validated by one anti-join per partition, not a lookup per row
            connection.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    timings["foreign_keys_s"] = time.perf_counter() - started
    if definitions(connection, table) != saved:
        raise AssertionError(f"{table}: the indexes and keys did not come back as they were")
    return timings
