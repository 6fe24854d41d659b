"""Write the events/*.json of the checklist, tutorials, metrics, analytics and export routes.

`python -m tools.api2_events` (re)writes them. The metrics batch carries timestamps from when it was
written and the API accepts events up to 7 days old: rewrite it before invoking it after a week.
"""

import uuid
from datetime import UTC, datetime
from pathlib import Path

from tools.lambda_events import write_event_file

ANALYST_CLAIMS = {"cognito:groups": "[platform_analyst]"}  # as API Gateway passes a Cognito group list
PERIOD = {"from": "2026-01-01", "to": "2026-12-31"}
TUTORIALS = "/v1/onboarding/tutorials"


def metrics_batch(now: datetime) -> dict[str, object]:
    stamp = now.isoformat(timespec="seconds")
    return {
        "events": [
            {
                "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"signupflow:{stamp}:1")),
                "event_type": "wizard_step_viewed",
                "timestamp": stamp,
                "wizard_step_reached": 2,
                "step_duration_seconds": 48,
                "session_id": "3f0c9a7e5b1d4c2a8e6f0b9d7c5a3e1f",
                "event_data": {"entry_point": "signup_flow"},
            },
            {
                "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"signupflow:{stamp}:2")),
                "event_type": "view_reports",
                "timestamp": stamp,
                "session_id": "3f0c9a7e5b1d4c2a8e6f0b9d7c5a3e1f",
            },
        ]
    }


def write_all(now: datetime | None = None) -> list[Path]:
    now = now or datetime.now(UTC)
    return [
        write_event_file("checklist_get", "GET", "/v1/onboarding/checklist"),
        write_event_file(
            "checklist_task_update", "PUT", "/v1/onboarding/checklist/add_team", body={"completed": True}
        ),
        write_event_file("tutorials_list", "GET", TUTORIALS),
        write_event_file("tutorial_view", "POST", f"{TUTORIALS}/events_intro/views"),
        write_event_file(
            "tutorial_progress", "PUT", f"{TUTORIALS}/events_intro/progress", body={"steps_completed": 2}
        ),
        write_event_file("tutorial_complete", "POST", f"{TUTORIALS}/events_intro/complete"),
        write_event_file("tutorial_skip", "POST", f"{TUTORIALS}/teams_setup/skip"),
        write_event_file("metrics_ingest", "POST", "/v1/onboarding/metrics", body=metrics_batch(now)),
        write_event_file("onboarding_export", "GET", "/v1/onboarding/export"),
        write_event_file(
            "analytics_completion_rate",
            "GET",
            "/v1/analytics/completion-rate",
            claims=ANALYST_CLAIMS,
            query=PERIOD,
        ),
        write_event_file(
            "analytics_funnel", "GET", "/v1/analytics/funnel", claims=ANALYST_CLAIMS, query=PERIOD
        ),
        write_event_file(
            "analytics_completion_time",
            "GET",
            "/v1/analytics/completion-time",
            claims=ANALYST_CLAIMS,
            query=PERIOD,
        ),
        write_event_file(
            "analytics_incomplete",
            "GET",
            "/v1/analytics/incomplete",
            claims=ANALYST_CLAIMS,
            query={"limit": "50"},
        ),
        write_event_file("analytics_experiments", "GET", "/v1/analytics/experiments", claims=ANALYST_CLAIMS),
    ]


if __name__ == "__main__":
    for path in write_all():
        print(path)
