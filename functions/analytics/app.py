"""Analytics function: cross-organization onboarding analytics for platform analysts (`/v1/analytics...`)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from onboarding import analytics
from onboarding.api import create_app, current_session, documented, lambda_entrypoint
from onboarding.auth import Group
from onboarding.experiments import ExperimentNotFound
from onboarding.field_errors import rules
from onboarding.ids import EXPERIMENT_ID_PATTERN
from onboarding.measured import measured
from onboarding.pagination import CURSOR_PATTERN, CURSOR_RULES, MAX_CURSOR_LENGTH

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
# The 404 of the routes that split by an experiment (`experiment=<id>`).
BY_EXPERIMENT = documented(errors=[ExperimentNotFound])
ExperimentKey = Annotated[
    str | None,
    Query(
        alias="experiment",
        pattern=EXPERIMENT_ID_PATTERN,
        description="split by this experiment's variants (GET /v1/analytics/experiments); 404 if unknown",
    ),
]
InactiveDays = Annotated[
    int,
    Query(
        ge=1,
        le=analytics.MAX_INACTIVE_DAYS,
        description="an organization with no activity for this many days, not completed, has dropped",
    ),
]


@app.get("/v1/analytics/completion-rate", responses=BY_EXPERIMENT, openapi_extensions=PERIOD_RULES)
@measured(statements=1, query=PERIOD)
def completion_rate(
    from_: From = None, to: To = None, experiment: ExperimentKey = None
) -> analytics.CompletionRate:
    span = analytics.period(from_, to)
    return analytics.completion_rate(current_session(app), span, experiment)


@app.get("/v1/analytics/funnel", responses=BY_EXPERIMENT, openapi_extensions=PERIOD_RULES)
@measured(statements=1, query=PERIOD)
def funnel(
    from_: From = None,
    to: To = None,
    inactive_days: InactiveDays = analytics.DEFAULT_INACTIVE_DAYS,
    experiment: ExperimentKey = None,
) -> analytics.Funnel:
    span = analytics.period(from_, to)
    return analytics.funnel(current_session(app), span, inactive_days, experiment)


@app.get("/v1/analytics/completion-time", responses=BY_EXPERIMENT, openapi_extensions=PERIOD_RULES)
@measured(statements=1, query=PERIOD)
def completion_time(
    from_: From = None, to: To = None, experiment: ExperimentKey = None
) -> analytics.CompletionTime:
    span = analytics.period(from_, to)
    return analytics.completion_time(current_session(app), span, experiment)


@app.get("/v1/analytics/experiments")
@measured(statements=1)
def list_experiments() -> analytics.Experiments:
    return analytics.list_experiments(current_session(app))


@app.get("/v1/analytics/incomplete", openapi_extensions=rules({**analytics.PERIOD_RULES, **CURSOR_RULES}))
@measured(statements=1, query=PERIOD)
def incomplete(
    from_: From = None,
    to: To = None,
    limit: Annotated[int, Query(ge=1, le=analytics.MAX_PAGE_SIZE)] = analytics.DEFAULT_PAGE_SIZE,
    cursor: Annotated[
        str | None, Query(min_length=1, max_length=MAX_CURSOR_LENGTH, pattern=CURSOR_PATTERN)
    ] = None,
) -> analytics.IncompleteOrganizations:
    span = analytics.period(from_, to)
    return analytics.incomplete_organizations(current_session(app), span, limit=limit, cursor=cursor)


lambda_handler = lambda_entrypoint(app, group=Group.PLATFORM_ANALYST)
