"""Count the SQL statements the service sends (its round trips), with a `before_cursor_execute` hook."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from onboarding.db import get_engine


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """Every statement the service's engine executes inside the block, in order."""
    engine = get_engine()
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
