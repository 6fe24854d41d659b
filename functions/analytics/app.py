"""Analytics function: cross-organization onboarding analytics for platform analysts (`/v1/analytics...`)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from onboarding import analytics
from onboarding.api import create_app, current_session, lambda_entrypoint
from onboarding.auth import Group
from onboarding.measured import measured
from onboarding.pagination import MAX_CURSOR_LENGTH
from onboarding.validation import rules

app = create_app()

# `from` is a Python keyword: the parameter is `from_`, the query string name `from`.
BOUND = "an ISO 8601 date (the whole day in UTC) or an RFC 3339 date-time with an offset (that instant)"
From = Annotated[
    analytics.Bound | None, Query(alias="from", description=f"first day or instant, inclusive: {BOUND}")
]
To = Annotated[analytics.Bound | None, Query(description=f"last day or instant, inclusive: {BOUND}")]
# The period the measured paths ask for (onboarding/measured.py): whatever else is in the database.
PERIOD = {"from": "2020-01-01", "to": "2099-12-31"}
PERIOD_RULES = rules(analytics.PERIOD_RULES)


@app.get("/v1/analytics/completion-rate", openapi_extensions=PERIOD_RULES)
@measured(statements=1, query=PERIOD)
def completion_rate(from_: From = None, to: To = None) -> analytics.CompletionRate:
    span = analytics.period(from_, to)
    return analytics.completion_rate(current_session(app), span)


@app.get("/v1/analytics/funnel", openapi_extensions=PERIOD_RULES)
@measured(statements=1, query=PERIOD)
def funnel(from_: From = None, to: To = None) -> analytics.Funnel:
    span = analytics.period(from_, to)
    return analytics.funnel(current_session(app), span)


@app.get("/v1/analytics/completion-time", openapi_extensions=PERIOD_RULES)
@measured(statements=1, query=PERIOD)
def completion_time(from_: From = None, to: To = None) -> analytics.CompletionTime:
    span = analytics.period(from_, to)
    return analytics.completion_time(current_session(app), span)


@app.get("/v1/analytics/incomplete", openapi_extensions=PERIOD_RULES)
@measured(statements=1, query=PERIOD)
def incomplete(
    from_: From = None,
    to: To = None,
    limit: Annotated[int, Query(ge=1, le=analytics.MAX_PAGE_SIZE)] = analytics.DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(min_length=1, max_length=MAX_CURSOR_LENGTH)] = None,
) -> analytics.IncompleteOrganizations:
    span = analytics.period(from_, to)
    return analytics.incomplete_organizations(current_session(app), span, limit=limit, cursor=cursor)


lambda_handler = lambda_entrypoint(app, group=Group.PLATFORM_ANALYST)
