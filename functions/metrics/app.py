"""Metrics function: client analytics events, ingested in idempotent batches (`/v1/onboarding/metrics`)."""

from onboarding import client_metrics
from onboarding.api import create_app, current_org_id, current_session, documented, lambda_entrypoint
from onboarding.auth import Group
from onboarding.errors import QuotaExceeded
from onboarding.measured import measured
from onboarding.started import NOT_STARTED

app = create_app()


@app.post(
    "/v1/onboarding/metrics",
    responses=documented(
        {200: "Stored once per event id: how many were new and how many were replays"},
        errors=[*NOT_STARTED, QuotaExceeded],
    ),
)
@measured(
    "10 events",
    statements=1,
    why="one statement as its own transaction: the daily cap's upsert, the event keys, the metric rows",
    body="metric batch",
    headers={"user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36"},
)
def ingest(batch: client_metrics.MetricBatch) -> client_metrics.IngestResult:
    # The user agent comes from the request (coarsened before storage), never from the body.
    user_agent = app.current_event.headers.get("user-agent")
    return client_metrics.ingest(current_session(app), current_org_id(app), batch, user_agent)


lambda_handler = lambda_entrypoint(app, group=Group.ORG_ADMIN)
