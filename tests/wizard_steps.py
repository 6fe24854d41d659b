"""Valid wizard step bodies, and a helper that walks an organization through the wizard."""

from typing import Any

from tests.fixtures import Invoke, admin_claims
from tools.wizard_events import future, step_body

__all__ = ["complete_steps", "future", "step_body"]


def complete_steps(api: Invoke, org_id: str, through: int) -> Any:
    """Start onboarding (if needed) and save steps 1..`through`; returns the last response."""
    claims = admin_claims(org_id)
    response = api("POST", "/v1/onboarding", claims=claims)
    for step in range(1, through + 1):
        response = api("PUT", f"/v1/onboarding/wizard/steps/{step}", claims=claims, body=step_body(step))
        assert response.status == 200, response
    return response
