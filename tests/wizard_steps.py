"""Valid wizard step bodies, and a helper that walks an organization through the wizard."""

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Invoke, admin_claims


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


def complete_steps(api: Invoke, org_id: str, through: int) -> Any:
    """Start onboarding (if needed) and save steps 1..`through`; returns the last response."""
    claims = admin_claims(org_id)
    response = api("POST", "/v1/onboarding", claims=claims)
    for step in range(1, through + 1):
        response = api("PUT", f"/v1/onboarding/wizard/steps/{step}", claims=claims, body=step_body(step))
        assert response.status == 200, response
    return response
