"""9. CPU and round trips per request: each change of issue 16 against its baseline, in the same run.

Every change that can be switched in-process is measured A/B: the rounds alternate between the
change off (the code as before) and on, each round sending one call of every route, so both sides
share whatever else the machine is doing; the order within a round alternates too (AB, BA). A row
per route and change: p50 off and on, and on/off. The summary gives the median over the routes of
p50 x floor (a raw pg8000 `SELECT 1` sampled between the rounds) for everything off (the service as
it was before issue 16's switchable changes) and everything on.
"""

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pg8000.legacy
from sqlalchemy import event

from bench.context import BenchContext, Section
from bench.harness import CHECKLIST_GET, in_own_container, ms, p50, pg8000_connection, timed
from onboarding import api, db
from onboarding.counters import Counter
from onboarding.db import get_engine
from tools.lambda_events import local_context
from tools.scenarios import Call, Handler, Scenario, load_handler, scenarios, typical_orgs


@dataclass(frozen=True)
class Change:
    name: str
    what: str
    off: Callable[[], Callable[[], None]]  # switches the change off; returns what switches it on again


def _placeholders_converted_every_time() -> Callable[[], None]:
    memoized = pg8000.legacy.convert_paramstyle
    pg8000.legacy.convert_paramstyle = memoized.original

    def restore() -> None:
        pg8000.legacy.convert_paramstyle = memoized

    return restore


def _commit_with_pg8000() -> Callable[[], None]:
    one_trip = db.Pg8000Dialect.do_commit

    def pg8000_commit(self: Any, dbapi_connection: Any) -> None:
        if not dbapi_connection.autocommit:
            dbapi_connection.commit()  # pg8000's own: Parse, Describe, Execute (3 round trips)

    db.Pg8000Dialect.do_commit = pg8000_commit  # type: ignore[method-assign]

    def restore() -> None:
        db.Pg8000Dialect.do_commit = one_trip  # type: ignore[method-assign]

    return restore


def _values_bound() -> Callable[[], None]:
    written_in = getattr(db, "inline")  # noqa: B009

    def never(*_: Any) -> None:
        return None  # every statement with parameters bound: pg8000's extended protocol (3 round trips)

    setattr(db, "inline", never)  # noqa: B010 (the name db.py imported)

    def restore() -> None:
        setattr(db, "inline", written_in)  # noqa: B010

    return restore


def _begin_on_its_own() -> Callable[[], None]:
    opens = db._opens_transaction

    def never_carried(_connection: Any) -> bool:
        return False  # pg8000 sends its own BEGIN, a round trip of its own, before the first statement

    setattr(db, "_opens_transaction", never_carried)  # noqa: B010

    def restore() -> None:
        setattr(db, "_opens_transaction", opens)  # noqa: B010

    return restore


def _every_get_in_a_transaction() -> Callable[[], None]:
    unit_of_work = db.unit_of_work

    @contextmanager
    def transactional(*, after_commit: Any = None, reads_first: bool = False) -> Iterator[Any]:
        with unit_of_work(after_commit=after_commit) as session:
            yield session

    setattr(api, "unit_of_work", transactional)  # noqa: B010 (the name api.py imported)

    def restore() -> None:
        setattr(api, "unit_of_work", unit_of_work)  # noqa: B010

    return restore


def _ping_every_checkout() -> Callable[[], None]:
    engine = get_engine()

    def ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        autocommit = dbapi_connection.autocommit
        engine.dialect.do_ping(dbapi_connection)  # like pool_pre_ping: BEGIN and the ping
        dbapi_connection.autocommit = autocommit

    event.listen(engine, "checkout", ping)
    return lambda: event.remove(engine, "checkout", ping)


def _timestamps_with_strptime() -> Callable[[], None]:
    import pg8000.converters

    return _pg8000s_own_parsers(
        {1184: pg8000.converters.timestamptz_in, 1114: pg8000.converters.timestamp_in}
    )


def _timestamp_arrays_with_pg8000() -> Callable[[], None]:
    import pg8000.converters

    return _pg8000s_own_parsers(
        {1185: pg8000.converters.timestamptz_array_in, 1115: pg8000.converters.timestamp_array_in}
    )


def _pg8000s_own_parsers(parsers_by_oid: dict[int, Callable[[Any], Any]]) -> Callable[[], None]:
    """pg8000's own parsers for these type oids on the pooled connection instead of the service's
    (`db._iso_timestamp_parsers`); the returned function puts the service's back."""

    def register(parsers: Callable[[Any], None]) -> None:
        with get_engine().connect() as connection:
            parsers(connection.connection.dbapi_connection)

    def pg8000s_own(dbapi_connection: Any) -> None:
        for oid, parser in parsers_by_oid.items():
            dbapi_connection.register_in_adapter(oid, parser)

    register(pg8000s_own)
    return lambda: register(lambda dbapi_connection: db._iso_timestamp_parsers(dbapi_connection, None))


def _outbox_values_list() -> Callable[[], None]:
    """The outbox rows as a multi-row VALUES list, built and compiled on every call (as before)."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from onboarding import outbox
    from onboarding.models import OutboxEvent

    kept = outbox.write_staged

    def write_staged(session: Session) -> list[str]:
        staged = outbox._current(session)
        session.info.pop(outbox._STAGED_KEY, None)
        if staged is None or not staged.rows:
            return []
        session.execute(insert(OutboxEvent).values(staged.rows))
        return [str(row["id"]) for row in staged.rows]

    outbox.write_staged = write_staged

    def restore() -> None:
        outbox.write_staged = kept

    return restore


def _statements_built_every_call() -> Callable[[], None]:
    from onboarding import checklist, metrics, state, tutorials

    kept = (
        (metrics, "_reused_with_metrics", metrics._with_metrics),
        (state, "update_columns", metrics.update_columns.__wrapped__),
        (tutorials, "update_columns", metrics.update_columns.__wrapped__),
        (checklist, "_swap_statement", checklist._swap_statement.__wrapped__),
        (tutorials, "_lock_statement", tutorials._lock_statement.__wrapped__),
    )
    saved = [(module, name, getattr(module, name)) for module, name, _built in kept]
    for module, name, built in kept:
        setattr(module, name, built)

    def restore() -> None:
        for module, name, cached in saved:
            setattr(module, name, cached)

    return restore


def _report_views_from_the_metrics() -> Callable[[], None]:
    """The checklist's report views counted on onboarding_metric, as before migration 0012: a count
    and the first times, two subqueries planned over every monthly partition."""
    from sqlalchemy import func, select

    from onboarding import checklist, counters, state, wizard
    from onboarding.models import OnboardingMetric

    def count(org_id: Any) -> Any:
        metric = OnboardingMetric
        return (
            select(func.count())
            .where(metric.organization_id == org_id, metric.event_type == "view_reports")
            .scalar_subquery()
        )

    saved = (counters.COUNTER_EXPRESSIONS[Counter.VIEW_REPORTS_EVENTS], checklist.READING, wizard.OVERVIEW)
    old_extra = (
        (name, _METRIC_TIMES if name == "view_reports_times" else build)
        for name, build in checklist.READING.extra
    )
    old_reading = state.Reading(counters=checklist.READING.counters, extra=tuple(old_extra))
    # Readings of their own (so state.statement keeps both sides' statements), built while the count
    # above is the counter's expression.
    counters.COUNTER_EXPRESSIONS[Counter.VIEW_REPORTS_EVENTS] = count
    checklist.READING = old_reading
    wizard.OVERVIEW = state.Reading(
        counters=old_reading.counters,
        extra=(*old_reading.extra, *wizard.OVERVIEW.extra[len(old_reading.extra) :]),
    )

    def restore() -> None:
        counters.COUNTER_EXPRESSIONS[Counter.VIEW_REPORTS_EVENTS], checklist.READING, wizard.OVERVIEW = saved

    return restore


def _first_view_reports_from_the_metrics(org_id: Any) -> Any:
    from sqlalchemy import func, select
    from sqlalchemy.orm import aliased

    from onboarding import checklist
    from onboarding.models import OnboardingMetric

    metric = aliased(OnboardingMetric, name="vr")
    return func.array(
        select(metric.timestamp)
        .where(metric.organization_id == org_id, metric.event_type == "view_reports")
        .order_by(metric.timestamp)
        .limit(checklist.KNOWN_ROW_TIMES)
        .scalar_subquery()
    )


_METRIC_TIMES = _first_view_reports_from_the_metrics


def _analytics_groups_as_values() -> Callable[[], None]:
    """The analytics' groups as a `VALUES` list of literal rows (as before): no cache key, so the funnel,
    the completion times and a split completion rate were compiled on every request."""
    from sqlalchemy import Integer, String, column, values

    from onboarding import analytics

    kept = analytics._groups

    def groups(split: Any) -> Any:
        names = list(split[1]) if split is not None else [analytics.WHOLE]
        return values(column("variant", String), column("position", Integer), name="groups").data(
            [(name, position) for position, name in enumerate(names)]
        )

    analytics._groups = groups
    _forget_analytics_statements()

    def restore() -> None:
        analytics._groups = kept
        _forget_analytics_statements()

    return restore


def _built_every_call(*targets: tuple[Any, str]) -> Callable[[], None]:
    """The given statement builders (module, name) without their cache: the statement built per call."""
    kept = [(module, name, getattr(module, name)) for module, name in targets]
    for module, name, builder in kept:
        setattr(module, name, builder.__wrapped__)

    def restore() -> None:
        for module, name, builder in kept:
            setattr(module, name, builder)

    return restore


def _start_statement_built_every_call() -> Callable[[], None]:
    from onboarding import start

    return _built_every_call((start, "_create_statement"))


def _clearing_statements_built_every_call() -> Callable[[], None]:
    from onboarding import sample_clearing

    return _built_every_call((sample_clearing, "_delete_statement"), (sample_clearing, "_flags_statement"))


def _reads_built_every_call() -> Callable[[], None]:
    from onboarding import experiments, export, tutorials

    return _built_every_call(
        (tutorials, "_list_statement"),
        (experiments, "_definitions_statement"),
        (export, "_export_statement"),
    )


def _writes_through_the_orm() -> Callable[[], None]:
    """`record_with`'s statement through `Session.execute` (the ORM's execution path), as before,
    instead of on the session's connection: the same function, given a session whose `connection()`
    is the session itself (`Session.execute` takes the statement and parameters as `Connection.execute`
    does)."""
    import sys

    from onboarding import metrics

    kept = metrics.record_with

    class ThroughTheSession:
        def __init__(self, session: Any) -> None:
            self.session = session

        def connection(self) -> Any:
            return self.session

    def record_with(session: Any, *args: Any, **kwargs: Any) -> int:
        return kept(ThroughTheSession(session), *args, **kwargs)  # type: ignore[arg-type]

    users = [m for m in list(sys.modules.values()) if getattr(m, "record_with", None) is kept]
    for module in users:
        module.record_with = record_with  # type: ignore[attr-defined]

    def restore() -> None:
        for module in users:
            module.record_with = kept  # type: ignore[attr-defined]

    return restore


def _assignments_joined() -> Callable[[], None]:
    """The real-assignments counter as the three-table join it was (event_assignments JOIN events JOIN
    people), in every state statement that reads it: built once per reading on this side's own cache."""
    from sqlalchemy import false, func, select

    from onboarding import counters
    from onboarding import host_tables as host

    def joined(org_id: Any) -> Any:
        return (
            select(func.count())
            .select_from(host.event_assignments)
            .join(host.events, host.events.c.id == host.event_assignments.c.event_id)
            .join(host.people, host.people.c.id == host.event_assignments.c.person_id)
            .where(
                host.events.c.org_id == org_id,
                host.events.c.is_sample.is_(false()),
                host.people.c.is_sample.is_(false()),
            )
            .scalar_subquery()
        )

    return _state_statements_built_with(counters.COUNTER_EXPRESSIONS, Counter.REAL_ASSIGNMENTS, joined)


def _state_statements_built_with(table: dict[Any, Any], key: Any, builder: Any) -> Callable[[], None]:
    """The state reads' statements built with `table[key]` = `builder`, kept apart from the service's
    (so that switching costs no rebuild in a timed call)."""
    from onboarding import state

    kept = state.driver_sql
    built: dict[tuple[Any, ...], Any] = _SWITCHED_STATEMENTS.setdefault(id(builder), {})

    def driver_sql(reading: Any, dialect: Any, *, lock: bool = False) -> Any:
        if (reading, dialect, lock) not in built:
            service, statement = table[key], state.statement
            table[key], state.statement = builder, statement.__wrapped__  # type: ignore[assignment]
            try:
                built[(reading, dialect, lock)] = kept.__wrapped__(reading, dialect, lock=lock)
            finally:
                table[key], state.statement = service, statement
        return built[(reading, dialect, lock)]

    state.driver_sql = driver_sql  # type: ignore[assignment]

    def restore() -> None:
        state.driver_sql = kept

    return restore


_SWITCHED_STATEMENTS: dict[int, dict[tuple[Any, ...], Any]] = {}


def _state_read_through_sqlalchemy() -> Callable[[], None]:
    """`state.load` executing its statement through SQLAlchemy (as before): the statement's cache key
    derived, its parameters and result columns processed on every read, instead of its SQL compiled
    once and sent with `exec_driver_sql`."""
    from onboarding import state

    kept = state.load

    def load(session: Any, org_id: str, reading: Any = state.MILESTONES, *, lock: bool = False) -> Any:
        statement = state.statement(reading, lock=lock)
        row = session.connection().execute(statement, {"org_id": org_id}).one_or_none()
        if row is None:
            return kept(session, org_id, reading, lock=lock)  # raises the 404 as the service does
        return state.snapshot_of(row, reading)

    state.load = load

    def restore() -> None:
        state.load = kept

    return restore


def _tasks_decoded_every_request() -> Callable[[], None]:
    """The checklist's active tasks as `jsonb`, decoded by pg8000 and their criteria validated on every
    request (as before), instead of read as `json` text parsed once per container and task list."""
    from sqlalchemy import func, literal_column, select, true
    from sqlalchemy.dialects.postgresql import aggregate_order_by

    from onboarding import checklist, state, wizard
    from onboarding.tables import onboarding_checklist_task

    def active_tasks_jsonb(_org_id: Any) -> Any:
        task = onboarding_checklist_task.alias("t").c
        fields = (task.id, *(getattr(task, name) for name in checklist._TASK_FIELDS))
        return (
            select(
                func.coalesce(
                    func.jsonb_agg(
                        aggregate_order_by(func.jsonb_build_array(*fields), task.priority_order, task.id)
                    ),
                    literal_column("'[]'::jsonb"),
                )
            )
            .where(task.is_active.is_(true()))
            .scalar_subquery()
        )

    def jsonb_tasks(reading: Any) -> Any:
        extra = tuple(
            (name, active_tasks_jsonb if name == "tasks" else build) for name, build in reading.extra
        )
        return state.Reading(counters=reading.counters, extra=extra)

    def tasks(decoded: Any) -> tuple[Any, ...]:
        return tuple(checklist._task(fields) for fields in decoded)

    saved = (checklist.READING, wizard.OVERVIEW, checklist._tasks)
    checklist.READING, wizard.OVERVIEW = _JSONB_READINGS.setdefault(
        saved[:2], (jsonb_tasks(checklist.READING), jsonb_tasks(wizard.OVERVIEW))
    )
    checklist._tasks = tasks  # type: ignore[assignment]

    def restore() -> None:
        checklist.READING, wizard.OVERVIEW, checklist._tasks = saved

    return restore


# The readings with jsonb tasks, made once (each Reading object keys state.statement's cache).
_JSONB_READINGS: dict[Any, Any] = {}


_ANALYTICS_BUILDERS = (
    "_completion_rate_statement",
    "_variant_completion_rates_statement",
    "_funnel_statement",
    "_completion_times_statement",
    "_incomplete_statement",
)


def _forget_analytics_statements() -> None:
    """Empty the analytics' statement caches (a switch changed what their builders build)."""
    from onboarding import analytics

    for name in _ANALYTICS_BUILDERS:
        builder = getattr(analytics, name)
        if hasattr(builder, "cache_clear"):
            builder.cache_clear()


def _analytics_statements_built_every_call() -> Callable[[], None]:
    """The analytics' statements built on every request (as before): the builders without their cache."""
    from onboarding import analytics

    kept = {name: getattr(analytics, name) for name in _ANALYTICS_BUILDERS}
    for name, builder in kept.items():
        setattr(analytics, name, builder.__wrapped__)

    def restore() -> None:
        for name, builder in kept.items():
            setattr(analytics, name, builder)

    return restore


CHANGES = (
    Change(
        "memoized placeholders",
        "pg8000's %s -> $n conversion once per statement text",
        _placeholders_converted_every_time,
    ),
    Change("one-trip COMMIT", "COMMIT with the simple protocol (1 round trip, not 3)", _commit_with_pg8000),
    Change("GET read alone", "a GET's first read without BEGIN/COMMIT", _every_get_in_a_transaction),
    Change(
        "values written in",
        "a statement's values written into its text (simple protocol, 1 round trip), not bound (3)",
        _values_bound,
    ),
    Change(
        "BEGIN carried",
        "BEGIN in the same message as the statement that opens the transaction, not a round trip of its own",
        _begin_on_its_own,
    ),
    Change("ping after idle", "no ping on a connection used moments ago", _ping_every_checkout),
    Change(
        "ISO timestamps",
        "timestamps parsed by datetime.fromisoformat, not strptime",
        _timestamps_with_strptime,
    ),
    Change(
        "ISO timestamp arrays",
        "timestamptz[] split and parsed by datetime.fromisoformat, not pg8000's array walk and strptime",
        _timestamp_arrays_with_pg8000,
    ),
    Change(
        "kept change statements",
        "the writes' UPDATE/INSERT and record_with's statement built once, values as parameters",
        _statements_built_every_call,
    ),
    Change(
        "outbox statement kept",
        "the outbox rows through jsonb_to_recordset, one statement built once, not a VALUES list per call",
        _outbox_values_list,
    ),
    Change(
        "report views rollup",
        "the checklist's report views read from onboarding_report_views by key (migration 0012), not counted"
        " on the partitioned onboarding_metric",
        _report_views_from_the_metrics,
    ),
    Change(
        "cacheable analytics groups",
        "the analytics' groups (all, or an experiment's variants) unnested from one bound array, not a VALUES"
        " list: the funnel and completion-time statements get a cache key and are compiled once",
        _analytics_groups_as_values,
    ),
    Change(
        "analytics statements kept",
        "the four analytics reports' statements built once per period shape and split, the period's bounds,"
        " page size and cursor bound at execution, not built per request",
        _analytics_statements_built_every_call,
    ),
    Change(
        "start statement kept",
        "POST /v1/onboarding's INSERT with its experiment assignments built once, organization and"
        " choices bound",
        _start_statement_built_every_call,
    ),
    Change(
        "clearing statements kept",
        "the sample-data deletes and cleared flags built once, the organizations an expanding bound list",
        _clearing_statements_built_every_call,
    ),
    Change(
        "read statements kept",
        "the tutorial list, the experiments' definitions and the export read with statements built once,"
        " their values bound",
        _reads_built_every_call,
    ),
    Change(
        "record_with on the connection",
        "the writes' one statement (record_with) executed on the session's connection, not through the"
        " ORM's Session.execute",
        _writes_through_the_orm,
    ),
    Change(
        "assignments without a join",
        "the real-assignments counter as the real events' ids in an array and the person's flag looked up"
        " by key, not a three-table join (~0.07 ms to plan, not ~0.24 ms)",
        _assignments_joined,
    ),
    Change(
        "checklist tasks remembered",
        "the checklist's active tasks read as json text and parsed once per container and task list, not"
        " as jsonb decoded and validated on every request",
        _tasks_decoded_every_request,
    ),
    Change(
        "state read as driver SQL",
        "state.load's statement compiled once and sent with exec_driver_sql, the organization id written"
        " in, not executed through SQLAlchemy with the id bound (its cache key derived, parameters and result"
        " columns processed per request, three round trips): this and the next change together",
        _state_read_through_sqlalchemy,
    ),
)


@contextmanager
def switched_off(changes: tuple[Change, ...]) -> Iterator[None]:
    restores = [change.off() for change in changes]
    try:
        yield
    finally:
        for restore in reversed(restores):
            restore()


def run(ctx: BenchContext) -> Section:
    scale = ctx.scale
    ctx.fresh_database("bench_cpu")
    typical_orgs(ctx.arrange, "bg_", scale.background_orgs)
    rounds = max(4, scale.calls // 2)  # calls per side
    warmup = scale.warmup
    per_side = warmup + rounds
    unknown = set(ctx.cpu_changes) - {change.name for change in CHANGES}
    if unknown:
        raise ValueError(f"no such change: {', '.join(sorted(unknown))}")
    chosen = tuple(change for change in CHANGES if not ctx.cpu_changes or change.name in ctx.cpu_changes)
    variants: list[tuple[str, tuple[Change, ...]]] = [
        *((change.name, (change,)) for change in chosen),
        *((("all of them", CHANGES),) if not ctx.cpu_changes else ()),
    ]
    planned: list[tuple[Scenario, Handler, list[Call]]] = [
        (
            scenario,
            load_handler(scenario.function),
            scenario.arrange(ctx.arrange, f"cp{index:02d}_", 2 * per_side * len(variants)),
        )
        for index, scenario in enumerate(scenarios())
    ]
    ctx.vacuum_analyze()
    samples: dict[tuple[str, bool, int], list[float]] = {}
    floor: list[float] = []
    connection = pg8000_connection(ctx.url)
    cursor = 0
    try:
        for variant, changes in variants:
            for position in range(per_side):
                order = (False, True) if position % 2 == 0 else (True, False)
                for on in order:
                    with switched_off(()) if on else switched_off(changes):
                        for index, (scenario, handler, calls) in enumerate(planned):
                            call = calls[cursor]
                            in_own_container(scenario.function)
                            started = time.perf_counter_ns()
                            response = handler(call.event, local_context())
                            elapsed = (time.perf_counter_ns() - started) / 1e6
                            if response["statusCode"] != call.status:
                                raise RuntimeError(
                                    f"{scenario.name}: {response['statusCode']} {response.get('body')}"
                                )
                            if position >= warmup:
                                samples.setdefault((variant, on, index), []).append(elapsed)
                    cursor += 1
                for _ in range(2):
                    floor.append(timed(lambda: connection.run("SELECT 1")))
    finally:
        connection.close()
    floor_p50 = p50(floor)
    rows: list[dict[str, Any]] = []
    medians: dict[str, tuple[float, float]] = {}
    for variant, _changes in variants:
        off_ratios: list[float] = []
        on_ratios: list[float] = []
        for index, (scenario, _handler, _calls) in enumerate(planned):
            p50_off, p50_on = p50(samples[(variant, False, index)]), p50(samples[(variant, True, index)])
            off_ratios.append(p50_off / floor_p50)
            on_ratios.append(p50_on / floor_p50)
            rows.append(
                {
                    "change": variant,
                    "route": scenario.name,
                    "p50_off_ms": ms(p50_off),
                    "p50_on_ms": ms(p50_on),
                    "on_vs_off": round(p50_on / p50_off, 2),
                }
            )
        medians[variant] = (statistics.median(off_ratios), statistics.median(on_ratios))
    checklist = next(i for i, (s, _h, _c) in enumerate(planned) if s.route_key == CHECKLIST_GET)
    # Every variant's "on" side is the code as it is; "all of them" is run when no change is named.
    checklist_on = p50(samples[(variants[-1][0], True, checklist)])
    return Section(
        "9. CPU and round trips per request: each change against its baseline, in the same run",
        rows,
        summary={
            "floor_select_1_p50_ms": ms(floor_p50),
            **{
                f"median_p50_x_floor[{variant}]": f"{off:.1f} -> {on:.1f} ({on / off:.2f})"
                for variant, (off, on) in medians.items()
            },
            "checklist_p50_ms_all_on": ms(checklist_on),
            "checklist_limit_ms": ms(3 * floor_p50 + 2.0),
            "calls_per_route_and_side": rounds,
        },
        notes=[
            "Each change switched off and on in alternating rounds of the same run (one call of every "
            "route per round), the calls in-process, event to response; on_vs_off < 1 is faster.",
            "median_p50_x_floor: the median over all routes of p50 / the floor's p50, off -> on.",
            *(f"{change.name}: {change.what}" for change in CHANGES),
        ],
    )
