"""Outbox operations for the scheduled publisher: the backlog to alarm on, and retention of sent rows."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import CursorResult, delete, extract, func, select
from sqlalchemy.orm import Session

from onboarding.tables import onboarding_outbox


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int
    oldest_pending_age_seconds: float  # 0 when nothing is pending


def backlog(session: Session) -> Backlog:
    """Pending events and the age of the oldest (what to alarm on), from the pending index."""
    count, age = session.execute(
        select(
            func.count(),
            func.coalesce(extract("epoch", func.now() - func.min(onboarding_outbox.c.created_at)), 0),
        ).where(onboarding_outbox.c.sent_at.is_(None))
    ).one()
    return Backlog(pending=int(count), oldest_pending_age_seconds=float(age))


def delete_sent_before(session: Session, retention: timedelta, *, limit: int = 5000) -> int:
    """Delete up to `limit` events sent longer than `retention` ago; returns how many."""
    expired = (
        select(onboarding_outbox.c.id)
        .where(onboarding_outbox.c.sent_at < func.now() - retention)
        .order_by(onboarding_outbox.c.sent_at)
        .limit(limit)
    )
    result = session.execute(
        delete(onboarding_outbox)
        .where(onboarding_outbox.c.id.in_(expired.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount
