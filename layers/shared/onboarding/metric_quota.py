"""The daily cap on an organization's client metric events (`POST /v1/onboarding/metrics`).

API Gateway's throttle is shared by every tenant: without a cap of its own, one organization could fill
the shared metric table at the stage's whole rate. Each batch first reserves its events against the
organization's count for the current UTC day, with one upsert on `onboarding_metric_quota` that
succeeds only while the new count stays within `METRIC_DAILY_QUOTA`; otherwise the request is a 429
with `Retry-After` (the seconds until the next UTC midnight) and, since the reservation and the
insert are one statement, nothing of the batch is stored.

- Every event of a batch counts, new or replayed: the cap bounds what a tenant can make the database
  do, and a replay costs about what a new event does.
- Concurrent batches of one organization queue on its quota row (the upsert's row lock, held until
  their transaction ends), so the cap is exact: no two batches can both fit into the last places.
  Other organizations never wait on it.
- The ingest statement carries `reservation()` as a CTE and stores only if it returned a row (one
  statement, one round trip); `refuse` says why when it did not.
- Only an organization whose onboarding has started gets a reservation (the ingest stores nothing
  for another, a 404): a refused reservation writes nothing, so a statement carrying it either
  stores the batch or changes nothing at all.
- Service-emitted metrics (`metrics.record_with`) never pass here: they are never capped.
"""

import math
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import NoReturn

from sqlalchemy import Date, Insert, Integer, String, bindparam, case, cast, exists, func, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from onboarding.errors import QuotaExceeded
from onboarding.metric_tables import onboarding_metric_quota
from onboarding.settings import get_settings
from onboarding.started import not_started
from onboarding.tables import onboarding_state


def parameters(org_id: str, events: int) -> dict[str, object]:
    """The bound values of `reservation()`."""
    return {"org_id": org_id, "events": events, "cap": get_settings().metric_daily_quota}


def refuse(session: Session, org_id: str) -> NoReturn:
    """Why a reservation got no row: the organization does not exist or has not started onboarding
    (404), or is over its cap (429)."""
    # The refused path only: a second statement (a third for the 404s).
    if not session.scalar(select(exists().where(onboarding_state.c.organization_id == org_id))):
        raise not_started(session, org_id)
    cap = get_settings().metric_daily_quota
    raise QuotaExceeded(
        f"This organization has reached its limit of {cap} metric events for today (UTC); "
        "nothing of this batch was stored.",
        retry_after_seconds=seconds_until_next_utc_day(datetime.now(UTC)),
    )


def seconds_until_next_utc_day(now: datetime) -> int:
    """Whole seconds, rounded up, until the cap resets at 00:00 UTC (at least 1)."""
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    return max(1, math.ceil((midnight - now).total_seconds()))


@cache
def reservation() -> Insert:
    """INSERT ... SELECT ... ON CONFLICT (organization_id) DO UPDATE ... WHERE <fits> RETURNING, with
    the bound values `org_id`, `events` and `cap` (`parameters`). An ingest statement may carry it as
    a data-modifying CTE and store only when it returned a row (`client_metrics`).

    A first batch of the day (no row, or yesterday's) starts the count from zero; a row comes back
    only when the events fit. An organization that does not exist, or has not started onboarding,
    gets no row (and no FK error); nothing is written then.
    """
    quota = onboarding_metric_quota
    org = bindparam("org_id", type_=String)
    events = bindparam("events", type_=Integer)
    cap = bindparam("cap", type_=Integer)
    today = cast(func.timezone("UTC", func.now()), Date)
    first = pg_insert(quota).from_select(
        ["organization_id", "day", "events"],
        # The state's row exists only for an existing organization (its foreign key).
        select(org, today, events).where(
            events <= cap, exists().where(onboarding_state.c.organization_id == org)
        ),
    )
    counted_before = case((quota.c.day == first.excluded.day, quota.c.events), else_=literal(0))
    return first.on_conflict_do_update(
        index_elements=[quota.c.organization_id],
        set_={"day": first.excluded.day, "events": counted_before + first.excluded.events},
        where=counted_before + first.excluded.events <= cap,
    ).returning(quota.c.events)
