"""Count the SQL statements the service sends (its round trips), with a `before_cursor_execute` hook."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from onboarding.db import get_engine


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """Every statement the service's engine executes inside the block, in order (as they run)."""
    seen: list[str] = []
    with _hooked(lambda statement, _parameters: seen.append(statement)):
        yield seen


@contextmanager
def captured_statements() -> Iterator[list[tuple[str, Any]]]:
    """The same, each with its parameters (to run it again, under EXPLAIN for instance)."""
    seen: list[tuple[str, Any]] = []
    with _hooked(lambda statement, parameters: seen.append((statement, parameters))):
        yield seen


@contextmanager
def compiled_statements() -> Iterator[list[tuple[str, bool]]]:
    """Every statement executed inside the block, each with whether SQLAlchemy compiled it for this
    execution (False: it came out of the engine's compiled cache, or it was driver SQL, text compiled
    once per container and sent with `exec_driver_sql`, which SQLAlchemy does not compile at all)."""
    seen: list[tuple[str, bool]] = []

    def record(statement: str, _parameters: Any, context: Any) -> None:
        if context is not None and context.compiled is None:  # driver SQL: nothing compiled
            seen.append((statement, False))
            return
        cached = context is not None and context.cache_hit == context.dialect.CACHE_HIT
        seen.append((statement, not cached))

    with _hooked(lambda statement, parameters: None, record):
        yield seen


@contextmanager
def _hooked(
    record: Callable[[str, Any], None], with_context: Callable[[str, Any, Any], None] | None = None
) -> Iterator[None]:
    engine = get_engine()

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, *_args: Any) -> None:
        record(statement, parameters)
        if with_context is not None:
            with_context(statement, parameters, context)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
