"""Write the events/ files of the onboarding function's wizard and sample-data routes.

`python -m tools.wizard_events` regenerates them, from `write_event_file` (the `sam local generate-event
apigateway http-api-proxy` shape with the demo org's JWT claims). The purge's scheduled event is
rendered from the template's schedule input (tests/test_template.py keeps the two equal).
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tools.lambda_events import EVENTS_DIR, write_event_file


# Bodies chosen so the files work on a fresh demo database in this order (see tests/test_event_files.py)
# and never go stale (no absolute dates in them).
def future(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def step_body(step: int) -> dict[str, Any]:
    """A valid body for each step (fresh each call: event dates stay in the future)."""
    bodies: dict[int, dict[str, Any]] = {
        1: {
            "organization_name": "Grace Community Church",
            "location": "123 Main St, Toronto, ON",
            "timezone": "America/Toronto",
            "organization_type": "church",
            "volunteer_count_estimate": 40,
        },
        2: {
            "event_title": "Sunday Morning Service",
            "event_datetime": future(),
            "event_duration_minutes": 120,
            "role_requirements": {"Greeter": 2, "Usher": 3},
            "location": "Main sanctuary",
            "description": "Our weekly service.",
        },
        3: {"team_name": "Worship Team", "team_role": "Worship Leader", "size_estimate": 8},
        4: {"emails": ["ana@example.org", "ben@example.org"], "send_immediately": False},
        5: {"tutorials_to_show": ["events_intro", "solver_run"], "skip_tutorials": False},
    }
    return bodies[step]


HTTP_EVENTS: list[tuple[str, str, str, Any]] = [
    # (file name, method, path, body); route keys and path parameters come from template.yaml
    ("onboarding_wizard_step_save", "PUT", "/v1/onboarding/wizard/steps/1", step_body(1)),
    ("onboarding_preferences", "PUT", "/v1/onboarding/preferences", {"show_all_features": True}),
    (
        "onboarding_sample_data_generate",
        "POST",
        "/v1/onboarding/sample-data",
        {"size": "standard", "expiry_days": 30},
    ),
    ("onboarding_sample_data_status", "GET", "/v1/onboarding/sample-data", None),
    ("onboarding_sample_data_extend", "POST", "/v1/onboarding/sample-data/extend", {"days": 14}),
    ("onboarding_sample_data_delete", "DELETE", "/v1/onboarding/sample-data", None),
    ("onboarding_wizard_skip", "POST", "/v1/onboarding/wizard/skip", None),
]


def write_all() -> list[Path]:
    return [write_event_file(name, method, path, body=body) for name, method, path, body in HTTP_EVENTS]


if __name__ == "__main__":
    for path in write_all():
        print(path.relative_to(EVENTS_DIR.parent))
