"""The setup wizard: starting onboarding and reading an organization's onboarding state."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from onboarding.errors import NotFound
from onboarding.metrics import MetricEventType, record_metric
from onboarding.models import OnboardingState, Organization


class OnboardingStateView(BaseModel):
    organization_id: str
    wizard_current_step: int
    wizard_completed: bool
    wizard_step_data: dict[str, Any]
    skipped: bool
    skipped_at: datetime | None
    started_at: datetime
    completed_at: datetime | None
    features_unlocked: list[str]
    show_all_features: bool


def start_onboarding(session: Session, org_id: str) -> tuple[OnboardingStateView, bool]:
    """Create the org's onboarding state once; later calls return it unchanged. True when created."""
    created = session.execute(
        insert(OnboardingState)
        .from_select(["organization_id"], select(Organization.id).where(Organization.id == literal(org_id)))
        .on_conflict_do_nothing(index_elements=[OnboardingState.organization_id])
        .returning(OnboardingState)
    ).scalar_one_or_none()
    if created is not None:
        record_metric(session, org_id, MetricEventType.WIZARD_STARTED, wizard_step_reached=1)
        return _view(created), True
    return get_onboarding(session, org_id), False


def get_onboarding(session: Session, org_id: str) -> OnboardingStateView:
    state = session.execute(
        select(OnboardingState).where(OnboardingState.organization_id == org_id)
    ).scalar_one_or_none()
    if state is None:
        if session.get(Organization, org_id) is None:
            raise NotFound("The organization does not exist.")
        raise NotFound("Onboarding has not been started for this organization.")
    return _view(state)


def _view(state: OnboardingState) -> OnboardingStateView:
    return OnboardingStateView(
        organization_id=state.organization_id,
        wizard_current_step=state.wizard_current_step,
        wizard_completed=state.wizard_completed,
        wizard_step_data=state.wizard_step_data,
        skipped=state.skipped,
        skipped_at=state.skipped_at,
        started_at=state.started_at,
        completed_at=state.completed_at,
        features_unlocked=state.features_unlocked,
        show_all_features=state.show_all_features,
    )
