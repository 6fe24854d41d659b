"""Export function: the caller organization's onboarding data as one JSON document (GDPR export).

Its own function because its profile differs from the other routes: larger responses, more memory.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from onboarding import export
from onboarding.api import create_app, current_org_id, current_session, documented, lambda_entrypoint
from onboarding.auth import Group
from onboarding.field_errors import rules
from onboarding.measured import measured
from onboarding.pagination import CURSOR_PATTERN, CURSOR_RULES, MAX_CURSOR_LENGTH
from onboarding.started import NOT_STARTED

app = create_app()


@app.get(
    "/v1/onboarding/export", responses=documented(errors=NOT_STARTED), openapi_extensions=rules(CURSOR_RULES)
)
@measured(statements=1, why="state, tutorials and a page of metrics")
def export_organization(
    limit: Annotated[int, Query(ge=1, le=export.MAX_METRICS_PAGE)] = export.DEFAULT_METRICS_PAGE,
    cursor: Annotated[
        str | None, Query(min_length=1, max_length=MAX_CURSOR_LENGTH, pattern=CURSOR_PATTERN)
    ] = None,
) -> export.OnboardingExport:
    return export.export_organization(current_session(app), current_org_id(app), limit=limit, cursor=cursor)


lambda_handler = lambda_entrypoint(app, group=Group.ORG_ADMIN)
