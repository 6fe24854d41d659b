"""The events/*.json of these routes are real HTTP API events that their handlers answer with 200."""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.analytics.app import lambda_handler as analytics
from functions.checklist.app import lambda_handler as checklist
from functions.export.app import lambda_handler as export
from functions.metrics.app import lambda_handler as metrics
from functions.tutorials.app import lambda_handler as tutorials
from tests.host_rows import start_onboarding
from tools.api2_events import metrics_batch
from tools.lambda_events import DEMO_ORG_ID, EVENTS_DIR, LocalLambdaContext

# In an order that works against one fresh demo organization.
EVENT_FILES: list[tuple[str, Callable[..., dict[str, Any]]]] = [
    ("checklist_get", checklist),
    ("checklist_task_update", checklist),
    ("tutorials_list", tutorials),
    ("tutorial_view", tutorials),
    ("tutorial_progress", tutorials),
    ("tutorial_complete", tutorials),
    ("tutorial_skip", tutorials),
    ("metrics_ingest", metrics),
    ("onboarding_export", export),
    ("analytics_completion_rate", analytics),
    ("analytics_funnel", analytics),
    ("analytics_completion_time", analytics),
    ("analytics_incomplete", analytics),
]


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    if name == "metrics_ingest":
        # The file's timestamps age out after 7 days (see tools/api2_events.py); the shape is what counts.
        event["body"] = json.dumps(metrics_batch(datetime.now(UTC)))
    return event


def test_every_event_file_is_answered_by_its_handler(make_org, db) -> None:
    make_org(DEMO_ORG_ID)
    start_onboarding(db, DEMO_ORG_ID)
    for name, handler in EVENT_FILES:
        response = handler(load(name), LocalLambdaContext())
        assert response["statusCode"] == 200, (name, response["body"])


@pytest.mark.parametrize(("name", "handler"), EVENT_FILES, ids=[name for name, _ in EVENT_FILES])
def test_event_files_carry_jwt_claims_and_a_route_key(name: str, handler: object) -> None:
    event = load(name)
    # routeKey and pathParameters against template.yaml: tests/test_events.py
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]
