"""The transactional outbox: domain events are staged on the session of the change that causes them.

`stage` adds an event to the session's current transaction; `db.unit_of_work` writes everything the
transaction staged with one multi-row INSERT just before it commits (`write_staged`), so an event is
never lost and never recorded for a change that rolled back, and a request costs one statement for
its events whatever the number of domain calls that cause them, none when it causes none. After the
commit the unit of work hands the events' ids to whoever publishes them (`publisher`); delivery is
at-least-once: consumers deduplicate on `detail.event_id`, the outbox row id.

Staged rows belong to the transaction they were staged in: after a rollback they are discarded, not
written by the next commit.
"""

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Insert, String, bindparam, column, func, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, SessionTransaction

from onboarding.ids import new_id
from onboarding.tables import onboarding_outbox

if TYPE_CHECKING:
    # Only for the annotations: `db` imports this module, and every function imports `db`; the event
    # schemas (pydantic models) are loaded by the modules that stage events, not by every cold start.
    from onboarding.domain_events import EventDetail

_STAGED_KEY = "onboarding.outbox.staged"  # Session.info key of the current transaction's `_Staged`


class _Staged:
    """The rows a transaction staged. A plain class: a dataclass cost ~0.5 ms at every cold start."""

    __slots__ = ("rows", "transaction")

    def __init__(self, transaction: SessionTransaction) -> None:
        self.transaction = transaction
        self.rows: list[dict[str, Any]] = []


def stage(session: Session, org_id: str, detail: "EventDetail") -> str:
    """Stage one event in the session's transaction; returns its event id. See `stage_many`."""
    return stage_many(session, [(org_id, detail)])[0]


def stage_many(session: Session, events: Sequence[tuple[str, "EventDetail"]]) -> list[str]:
    """Stage events (e.g. one per organization the purge cleared) in the session's transaction.

    The details are pydantic models, validated when they were built; their ids are made here (the
    shape of the column default), so the caller knows them before the INSERT.
    """
    if not events:
        return []
    # No round trip: a transaction begun here acquires its connection on the first statement.
    transaction = session.get_transaction() or session.begin()
    staged = session.info.get(_STAGED_KEY)
    if staged is None or staged.transaction is not transaction:
        staged = session.info[_STAGED_KEY] = _Staged(transaction)
    rows = [
        {
            "id": new_id("outbox"),
            "event_type": detail.event_type.value,
            "organization_id": org_id,
            "detail": detail.model_dump(mode="json"),
        }
        for org_id, detail in events
    ]
    staged.rows.extend(rows)
    return [str(row["id"]) for row in rows]


def staged_event_ids(session: Session) -> list[str]:
    """Ids of the events staged in the session's current transaction."""
    staged = _current(session)
    return [str(row["id"]) for row in staged.rows] if staged is not None else []


def write_staged(session: Session) -> list[str]:
    """Insert the events the current transaction staged, in one statement; their ids.

    Called by `db.unit_of_work` just before COMMIT: the events commit or roll back with the change.
    Nothing staged: no statement.
    """
    staged = _current(session)
    session.info.pop(_STAGED_KEY, None)
    if staged is None or not staged.rows:
        return []
    # On the connection (Core): the ORM would read the parameters as rows to bulk-insert.
    session.connection().execute(_insert_statement(), {"rows": staged.rows})
    return [str(row["id"]) for row in staged.rows]


@cache
def _insert_statement() -> Insert:
    """INSERT ... SELECT FROM jsonb_to_recordset(:rows): one statement text whatever the number of
    events, built once per container (a multi-row VALUES list was built and compiled on every call:
    its shape changes with the number of rows; bench/README.md, issue 16)."""
    columns = (
        column("id", String(50)),
        column("event_type", String(50)),
        column("organization_id", String(50)),
        column("detail", JSONB),
    )
    rows = (
        func.jsonb_to_recordset(bindparam("rows", type_=JSONB))
        .table_valued(*columns)
        .render_derived("staged", with_types=True)
    )
    return insert(onboarding_outbox).from_select([c.name for c in columns], select(*rows.columns))


def _current(session: Session) -> _Staged | None:
    # Rows staged in a transaction that has since rolled back are not the current transaction's.
    staged: _Staged | None = session.info.get(_STAGED_KEY)
    if staged is None or staged.transaction is not session.get_transaction():
        return None
    return staged
