"""What each route costs, declared on the route: its measured paths and their SQL statements.

A route's handler declares, under its `@app.<method>(...)` decorator, the paths `bench/` times and
`tests/test_round_trips.py` counts: `@measured(...)`, one per path. The declaration is data only (the
service never reads it): how many statements the path sends (exact, asserted by the tests; they may
only go down), the organization it finds (`Given`, built set-based by `tools/scenarios.py`), and the
request (path parameters, body, query, headers). A new route carries its own, so nothing else lists
it; `tools/scenarios.py` derives the benchmark scenarios and the tests' valid requests from these.
"""

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

MEASURED_ATTRIBUTE = "measured_paths"


class Given(NamedTuple):
    """The organization a measured call finds, as `tools/scenarios.py` arranges it."""

    started: bool = True  # onboarding started (False: an organization that has not started yet)
    step: int = 3  # the wizard's current step; the earlier steps' answers are stored
    sample_data: bool = False  # standard sample data, not expired
    tutorials: tuple[tuple[str, int], ...] = ()  # (tutorial, its total steps): viewed, one step done
    settled: bool = False  # its checklist completions already stored (the steady state of a GET)


# A body: JSON as it is sent (a tuple: one after the other, call by call), or the name of a body
# `tools/scenarios.py` makes fresh for each call
# (wizard step answers with future dates, metric batches with new event ids).
Body = Mapping[str, Any] | tuple[Mapping[str, Any], ...] | str | None
NOTHING: Mapping[str, str] = MappingProxyType({})


class MeasuredPath(NamedTuple):
    """One measured path of a route. Immutable data (named tuples, not dataclasses: every API function
    imports this module at its cold start, and a named tuple's class costs a tenth of a frozen
    dataclass's)."""

    variant: str  # "" when it is the route's only measured path
    statements: int
    why: str = ""  # what the statements are, in a few words
    common: bool = True  # the path most calls take: the round-trip targets apply to it
    given: Given = Given()
    once: bool = False  # the change happens once per organization: each call gets an organization of its own
    status: int = 200
    path: Mapping[str, str] = NOTHING  # path parameter values
    body: Body = None
    query: Mapping[str, str] = NOTHING
    headers: Mapping[str, str] = NOTHING


def measured[F: Callable[..., Any]](
    variant: str = "", *, statements: int, **details: Any
) -> Callable[[F], F]:
    """Declare one measured path of the route below (see `MeasuredPath` for `details`)."""
    path = MeasuredPath(variant, statements, **details)

    def declare(route: F) -> F:
        # Decorators apply bottom-up: keep the paths in the order they are written.
        setattr(route, MEASURED_ATTRIBUTE, (path, *getattr(route, MEASURED_ATTRIBUTE, ())))
        return route

    return declare
