"""Write the events/ files of the onboarding function's wizard and sample-data routes, and the purge's.

`python -m tools.wizard_events` regenerates them. The HTTP events come from `write_event_file` (the
`sam local generate-event apigateway http-api-proxy` shape with the demo org's JWT claims); the purge's
is the event EventBridge Scheduler delivers with the template's input (scheduled time in `time`).
"""

import json
from pathlib import Path
from typing import Any

from tools.lambda_events import EVENTS_DIR, write_event_file

# Bodies chosen so the files work on a fresh demo database in this order (see tests/test_event_files.py)
# and never go stale (no absolute dates in them).
HTTP_EVENTS: list[tuple[str, str, str, Any, str | None]] = [
    # (file name, method, path, body, route key with path parameters)
    (
        "onboarding_wizard_step_save",
        "PUT",
        "/v1/onboarding/wizard/steps/1",
        {
            "organization_name": "Demo Community Church",
            "location": "123 Main St, Toronto, ON",
            "timezone": "America/Toronto",
            "organization_type": "church",
            "volunteer_count_estimate": 40,
        },
        "PUT /v1/onboarding/wizard/steps/{step}",
    ),
    ("onboarding_preferences", "PUT", "/v1/onboarding/preferences", {"show_all_features": True}, None),
    (
        "onboarding_sample_data_generate",
        "POST",
        "/v1/onboarding/sample-data",
        {"size": "standard", "expiry_days": 30},
        None,
    ),
    ("onboarding_sample_data_status", "GET", "/v1/onboarding/sample-data", None, None),
    ("onboarding_sample_data_extend", "POST", "/v1/onboarding/sample-data/extend", {"days": 14}, None),
    ("onboarding_sample_data_delete", "DELETE", "/v1/onboarding/sample-data", None, None),
    ("onboarding_wizard_skip", "POST", "/v1/onboarding/wizard/skip", None, None),
]

SCHEDULE_ARN = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/signupflow-onboarding-purge"
PURGE_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "d32c5kddcf5bb8c3",
    "detail-type": "Scheduled Event",
    "source": "aws.scheduler",
    "account": "123456789012",
    "time": "2026-11-24T03:00:00Z",
    "region": "us-east-1",
    "resources": [SCHEDULE_ARN],
    "detail": {"execution_id": "d32c5kddcf5bb8c3", "attempt_number": "1"},
}


def write_all() -> list[Path]:
    written = []
    for name, method, path, body, route_key in HTTP_EVENTS:
        target = write_event_file(name, method, path, body=body, route_key=route_key)
        if route_key is not None:
            _add_path_parameters(target, route_key, path)
        written.append(target)
    purge = EVENTS_DIR / "purge_scheduled.json"
    purge.write_text(json.dumps(PURGE_EVENT, indent=2) + "\n")
    written.append(purge)
    return written


def _add_path_parameters(target: Path, route_key: str, path: str) -> None:
    """API Gateway sends the matched `{name}` segments of the route as `pathParameters`."""
    event = json.loads(target.read_text())
    template = route_key.split(" ", 1)[1].split("/")
    actual = path.split("/")
    event["pathParameters"] = {
        part[1:-1]: value
        for part, value in zip(template, actual, strict=True)
        if part.startswith("{") and part.endswith("}")
    }
    target.write_text(json.dumps(event, indent=2) + "\n")


if __name__ == "__main__":
    for path in write_all():
        print(path.relative_to(EVENTS_DIR.parent))
