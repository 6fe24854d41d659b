"""Starting an organization's onboarding: `POST /v1/onboarding` and the host's `OrganizationCreated`
event (`host_events`) create its state once, with its variant of every active experiment.

Only these two paths assign experiments, so only they load `experiments` (its definitions, their
table and the assignment in SQL); every other reader of the state goes through `state`.
"""

from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Insert, String, bindparam, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Session

from onboarding import experiments as experiment_assignment
from onboarding import host_tables as host
from onboarding.experiments import Choices
from onboarding.metrics import MetricEventType, MetricRecord, record_with
from onboarding.state import OnboardingStateView, get_onboarding
from onboarding.tables import onboarding_state


class StartRequest(BaseModel):
    """The optional body of `POST /v1/onboarding`; it counts only when onboarding starts (later calls
    return the state unchanged)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"x-rules": dict(experiment_assignment.CHOICE_RULES)}
    )

    # Where the organization came from (the data model's `wizard_started.event_data.entry_point`).
    entry_point: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,49}$")] | None = Field(
        default=None, description="snake_case, e.g. signup_flow, invitation_email, dashboard_banner"
    )
    # Variants the client decides (e.g. from its own feature-flag service); other active experiments
    # are assigned by the server (`experiments`).
    experiments: Choices | None = None


def start_onboarding(
    session: Session, org_id: str, request: StartRequest | None = None
) -> tuple["OnboardingStateView", bool]:
    """Create the org's onboarding state once; later calls return it unchanged. True when created."""
    request = request or StartRequest()
    choices = request.experiments or {}
    if choices:
        experiment_assignment.check_choices(session, choices)
    started = MetricRecord(
        org_id,
        MetricEventType.WIZARD_STARTED,
        event_data={"entry_point": request.entry_point} if request.entry_point else {},
        wizard_step_reached=1,
    )
    params = {"org_id": org_id, "chosen": choices}
    created = record_with(session, _create_statement(), [started], params=params) == 1
    return get_onboarding(session, org_id), created


@cache
def _create_statement() -> Insert:
    """The state's INSERT with its experiment assignments (`org_id`, `chosen`: bound parameters), built
    once per container: building it per request cost more than running it (bench/README.md, "CPU
    (target 3)")."""
    org = bindparam("org_id", type_=String)
    return (
        insert(onboarding_state)
        .from_select(
            ["organization_id", "experiments"],
            select(
                host.organizations.c.id,
                experiment_assignment.assignments(org, bindparam("chosen", type_=JSONB)),
            ).where(host.organizations.c.id == org),
        )
        .on_conflict_do_nothing(index_elements=[onboarding_state.c.organization_id])
        .returning(onboarding_state.c.organization_id)
    )
