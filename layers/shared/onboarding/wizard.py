"""The setup wizard and the organization's onboarding state.

Every change reads the state row with `SELECT ... FOR UPDATE` first, so concurrent saves for one
organization are applied one after the other: none is lost, and `wizard_current_step` always agrees with
the step data stored next to it. Timestamps come from the transaction (`now()`), so the state change and
the metrics it emits carry the same time. Completing and skipping the wizard also enqueue the
`OnboardingCompleted` / `OnboardingSkipped` domain events (`outbox`), in the same transaction.
"""

import json
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from functools import cache
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    model_validator,
)
from sqlalchemy import func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from onboarding import checklist, features, outbox
from onboarding.counters import Counter
from onboarding.domain_events import OnboardingCompleted, OnboardingSkipped
from onboarding.errors import Conflict, NotFound
from onboarding.metrics import MetricEventType, MetricRecord, record_metrics
from onboarding.models import OnboardingState, Organization
from onboarding.validation import (
    MULTI_LINE,
    SINGLE_LINE,
    field_error,
    invalid_input,
    invalid_input_from_details,
)

# An event planned further ahead than this is almost certainly a typo in the year.
MAX_EVENT_LEAD_TIME = timedelta(days=5 * 366)
# All steps' answers together, as compact UTF-8 JSON: JSON columns stay small (the data model's < 10 KB).
# The field limits keep every realistic wizard far below; only extreme inputs reach it.
MAX_STEP_DATA_BYTES = 10 * 1024


class WizardStep(IntEnum):
    ORGANIZATION_PROFILE = 1
    FIRST_EVENT = 2
    FIRST_TEAM = 3
    INVITE_VOLUNTEERS = 4
    TUTORIAL_INTRO = 5

    @property
    def step_name(self) -> str:
        return self.name.lower()

    @property
    def data_key(self) -> str:
        """Key of the step's entry in `wizard_step_data` (the data model's `step_1` ... `step_5`)."""
        return f"step_{self.value}"


LAST_STEP = WizardStep.TUTORIAL_INTRO
TutorialId = Literal[
    "events_intro", "teams_setup", "availability_management", "solver_run", "schedule_export"
]


class StepOutOfSequence(Conflict):
    code = "wizard_step_out_of_sequence"


class WizardAlreadyCompleted(Conflict):
    code = "wizard_already_completed"


# --- Step payloads: the contract's fields and limits; unknown fields are rejected ---


@cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - {"localtime", "Factory"}


def _iana_timezone(value: str) -> str:
    if value not in _iana_zones():
        raise ValueError("must be an IANA time zone name, for example America/Toronto")
    return value


def _iso_text(value: object) -> object:
    # Lax validation would read a number as a Unix timestamp; the contract asks for ISO 8601 text.
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


def _unique_case_insensitive[T: str](values: list[T]) -> list[T]:
    seen: set[str] = set()
    unique = []
    for value in values:
        if value.casefold() not in seen:
            seen.add(value.casefold())
            unique.append(value)
    return unique


def _line(min_length: int, max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


class _StepPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrganizationProfile(_StepPayload):
    organization_name: Annotated[str, _line(3, 100), SINGLE_LINE]
    location: Annotated[str, _line(10, 500), MULTI_LINE]
    timezone: Annotated[str, _line(1, 64), AfterValidator(_iana_timezone)]
    organization_type: Annotated[str, _line(2, 50), SINGLE_LINE] | None = None
    volunteer_count_estimate: Annotated[StrictInt, Field(ge=0, le=1_000_000)] | None = None


RoleName = Annotated[str, _line(1, 100), SINGLE_LINE]
RoleCount = Annotated[StrictInt, Field(gt=0, le=1000)]


class FirstEvent(_StepPayload):
    event_title: Annotated[str, _line(3, 200), SINGLE_LINE]
    # ISO 8601; without an offset it is read in the organization's time zone (step 1).
    event_datetime: Annotated[datetime, BeforeValidator(_iso_text)]
    event_duration_minutes: Annotated[StrictInt, Field(ge=15, le=480)]
    role_requirements: Annotated[dict[RoleName, RoleCount], Field(min_length=1, max_length=50)]
    location: Annotated[str, _line(1, 500), MULTI_LINE] | None = None
    description: Annotated[str, _line(0, 1000), MULTI_LINE] | None = None


class FirstTeam(_StepPayload):
    team_name: Annotated[str, _line(3, 100), SINGLE_LINE]
    team_role: Annotated[str, _line(3, 100), SINGLE_LINE]
    description: Annotated[str, _line(0, 500), MULTI_LINE] | None = None
    size_estimate: Annotated[StrictInt, Field(ge=0, le=100_000)] | None = None


class InviteVolunteers(_StepPayload):
    # Repeated addresses (ignoring case) are kept once.
    emails: Annotated[
        list[EmailStr], Field(min_length=1, max_length=50), AfterValidator(_unique_case_insensitive)
    ]
    message: Annotated[str, _line(0, 500), MULTI_LINE] | None = None
    send_immediately: StrictBool = False


class TutorialIntro(_StepPayload):
    tutorials_to_show: Annotated[
        list[TutorialId], Field(max_length=5), AfterValidator(_unique_case_insensitive)
    ] = []
    skip_tutorials: StrictBool = False

    @model_validator(mode="after")
    def _skipping_shows_nothing(self) -> Self:
        if self.skip_tutorials and self.tutorials_to_show:
            raise ValueError("tutorials_to_show must be empty when skip_tutorials is true")
        return self


STEP_PAYLOADS: dict[WizardStep, type[_StepPayload]] = {
    WizardStep.ORGANIZATION_PROFILE: OrganizationProfile,
    WizardStep.FIRST_EVENT: FirstEvent,
    WizardStep.FIRST_TEAM: FirstTeam,
    WizardStep.INVITE_VOLUNTEERS: InviteVolunteers,
    WizardStep.TUTORIAL_INTRO: TutorialIntro,
}


# --- Responses ---


class SampleDataSummary(BaseModel):
    present: bool
    generated_at: datetime | None
    expires_at: datetime | None
    expired: bool
    cleared: bool


class OnboardingStateView(BaseModel):
    organization_id: str
    wizard_current_step: int
    wizard_current_step_name: str
    wizard_completed: bool
    wizard_step_data: dict[str, Any]
    skipped: bool
    skipped_at: datetime | None
    started_at: datetime
    completed_at: datetime | None
    updated_at: datetime
    sample_data: SampleDataSummary
    features_unlocked: list[str]
    feature_progress: list[features.FeatureProgress]
    show_all_features: bool


class OnboardingOverview(OnboardingStateView):
    """GET /v1/onboarding: the state plus the live checklist summary (write routes answer the state)."""

    checklist: checklist.ChecklistProgress


class PreferencesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    show_all_features: StrictBool


# --- Operations ---


def start_onboarding(session: Session, org_id: str) -> tuple[OnboardingStateView, bool]:
    """Create the org's onboarding state once; later calls return it unchanged. True when created."""
    created = session.execute(
        insert(OnboardingState)
        .from_select(["organization_id"], select(Organization.id).where(Organization.id == literal(org_id)))
        .on_conflict_do_nothing(index_elements=[OnboardingState.organization_id])
        .returning(OnboardingState.id)
    ).scalar_one_or_none()
    if created is not None:
        record_metrics(session, [MetricRecord(org_id, MetricEventType.WIZARD_STARTED, wizard_step_reached=1)])
    return get_onboarding(session, org_id), created is not None


def get_onboarding(session: Session, org_id: str) -> OnboardingStateView:
    """The state, after storing any feature unlock the organization has earned since the last look."""
    loaded = load_state(session, org_id)
    if features.reached(loaded.counts, loaded.state.features_unlocked):
        # Re-read under the row lock: of two concurrent readers, only one stores (and reports) the unlock.
        loaded = load_state(session, org_id, lock=True)
        if features.store_unlocks(session, loaded.state, loaded.counts, loaded.now):
            loaded.state.updated_at = loaded.now
            session.flush()
    return loaded.view()


def get_overview(session: Session, org_id: str) -> OnboardingOverview:
    """The full state for GET /v1/onboarding: one statement for the state, one for the checklist."""
    state = get_onboarding(session, org_id)
    return OnboardingOverview(**dict(state), checklist=checklist.checklist_summary(session, org_id))


def save_step(session: Session, org_id: str, step_ref: str, body: dict[str, Any]) -> OnboardingStateView:
    """Save one step's form. Steps are filled in order; an earlier step may be edited at any time."""
    step = parse_step(step_ref)
    payload = validate_step_payload(step, body)
    loaded = load_state(session, org_id, lock=True)
    state, now = loaded.state, loaded.now
    if step > state.wizard_current_step:
        current = WizardStep(state.wizard_current_step)
        raise StepOutOfSequence(
            f"Step {step.value} ({step.step_name}) cannot be saved yet: the wizard is at step "
            f"{current.value} ({current.step_name}). Complete the steps in order.",
            details=[field_error("path.step", f"must be at most {current.value}", "out_of_sequence")],
        )
    values = _stored_values(step, payload, state, now)
    first_time = step == state.wizard_current_step and not state.wizard_completed
    previous = state.wizard_step_data.get(step.data_key, {})
    record = {
        **values,
        "completed": True,
        "completed_at": previous.get("completed_at", now.isoformat()),
        "updated_at": now.isoformat(),
    }
    state.wizard_step_data = _bounded({**state.wizard_step_data, step.data_key: record})
    # Coming back to the wizard after skipping it resumes it (the skip stays in the metrics).
    state.skipped, state.skipped_at = False, None
    state.updated_at = now
    metrics: list[MetricRecord] = []
    if first_time:
        metrics.append(
            MetricRecord(
                org_id,
                MetricEventType.WIZARD_STEP_COMPLETED,
                event_data={"step_name": step.step_name},
                step_duration_seconds=_seconds_on_step(step, state, now),
                wizard_step_reached=step.value,
            )
        )
        if step == LAST_STEP:
            state.wizard_completed, state.completed_at = True, now
            minutes = _whole_minutes(now - state.started_at)
            metrics.append(
                MetricRecord(
                    org_id,
                    MetricEventType.WIZARD_COMPLETED,
                    completion_time_minutes=minutes,
                    wizard_step_reached=step.value,
                )
            )
            outbox.stage(
                session,
                org_id,
                OnboardingCompleted(
                    started_at=state.started_at, completed_at=now, completion_time_minutes=minutes
                ),
            )
        else:
            state.wizard_current_step = step.value + 1
    record_metrics(session, metrics)
    features.store_unlocks(session, state, loaded.counts, now)
    session.flush()
    return loaded.view()


def skip_wizard(session: Session, org_id: str) -> OnboardingStateView:
    """Skip the wizard at its current step. Skipping again changes nothing; a completed wizard is final."""
    loaded = load_state(session, org_id, lock=True)
    state = loaded.state
    if state.wizard_completed:
        raise WizardAlreadyCompleted("The wizard is already completed; there is nothing to skip.")
    if not state.skipped:
        state.skipped, state.skipped_at, state.updated_at = True, loaded.now, loaded.now
        step = WizardStep(state.wizard_current_step)
        record_metrics(
            session,
            [
                MetricRecord(
                    org_id,
                    MetricEventType.WIZARD_SKIPPED,
                    event_data={"step_name": step.step_name},
                    wizard_step_dropped=step.value,
                )
            ],
        )
        outbox.stage(
            session,
            org_id,
            OnboardingSkipped(skipped_at=loaded.now, wizard_step=step.value),
        )
    features.store_unlocks(session, state, loaded.counts, loaded.now)
    session.flush()
    return loaded.view()


def set_preferences(session: Session, org_id: str, preferences: PreferencesRequest) -> OnboardingStateView:
    loaded = load_state(session, org_id, lock=True)
    state = loaded.state
    if state.show_all_features != preferences.show_all_features:
        state.show_all_features, state.updated_at = preferences.show_all_features, loaded.now
    features.store_unlocks(session, state, loaded.counts, loaded.now)
    session.flush()
    return loaded.view()


def parse_step(step_ref: str) -> WizardStep:
    """A step from the path: its number (1-5) or its name."""
    for step in WizardStep:
        if step_ref in (str(step.value), step.step_name):
            return step
    names = ", ".join(step.step_name for step in WizardStep)
    raise NotFound(f"There is no wizard step {step_ref[:40]!r}; use 1-5 or one of: {names}.")


def validate_step_payload(step: WizardStep, body: dict[str, Any]) -> _StepPayload:
    try:
        return STEP_PAYLOADS[step].model_validate(body)
    except ValidationError as error:
        raise invalid_input(error) from error


# --- Reading the state ---


@dataclass(slots=True)
class LoadedState:
    """The state row, the transaction's `now()` and the milestone counters, read in one statement."""

    state: OnboardingState
    now: datetime
    counts: dict[Counter, int]

    def view(self) -> OnboardingStateView:
        state = self.state
        expiry = state.sample_data_expiry
        return OnboardingStateView(
            organization_id=state.organization_id,
            wizard_current_step=state.wizard_current_step,
            wizard_current_step_name=WizardStep(state.wizard_current_step).step_name,
            wizard_completed=state.wizard_completed,
            wizard_step_data=state.wizard_step_data,
            skipped=state.skipped,
            skipped_at=state.skipped_at,
            started_at=state.started_at,
            completed_at=state.completed_at,
            updated_at=state.updated_at,
            sample_data=SampleDataSummary(
                present=state.sample_data_generated,
                generated_at=state.sample_data_generated_at,
                expires_at=expiry,
                expired=state.sample_data_generated and expiry is not None and expiry <= self.now,
                cleared=state.sample_data_cleared,
            ),
            features_unlocked=state.features_unlocked,
            feature_progress=features.progress(self.counts, state.features_unlocked),
            show_all_features=state.show_all_features,
        )


def load_state(session: Session, org_id: str, *, lock: bool = False) -> LoadedState:
    """The organization's state (404 if onboarding was not started), optionally locked for update."""
    statement = select(
        OnboardingState, func.now(), *features.milestone_columns(OnboardingState.organization_id.expression)
    ).where(OnboardingState.organization_id == org_id)
    if lock:
        # Fresh values after waiting for the lock, not the ones this session may have seen before.
        statement = statement.with_for_update(of=OnboardingState).execution_options(populate_existing=True)
    row = session.execute(statement).one_or_none()
    if row is None:
        raise not_started(session, org_id)
    state, now, *counts = row
    return LoadedState(state=state, now=now, counts=features.counts_from_row(counts))


def not_started(session: Session, org_id: str) -> NotFound:
    if session.get(Organization, org_id) is None:
        return NotFound("The organization does not exist.")
    return NotFound("Onboarding has not been started for this organization; POST /v1/onboarding first.")


def organization_timezone(state: OnboardingState) -> zoneinfo.ZoneInfo:
    """The time zone from the wizard's step 1, or UTC before it is filled in."""
    name = state.wizard_step_data.get(WizardStep.ORGANIZATION_PROFILE.data_key, {}).get("timezone")
    if isinstance(name, str) and name in _iana_zones():
        return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo("UTC")


# --- Internals ---


def _stored_values(
    step: WizardStep, payload: _StepPayload, state: OnboardingState, now: datetime
) -> dict[str, Any]:
    values = payload.model_dump(mode="json")
    if isinstance(payload, FirstEvent):
        starts = payload.event_datetime
        if starts.tzinfo is None:
            starts = starts.replace(tzinfo=organization_timezone(state))
        if starts <= now:
            raise _invalid_datetime("must be in the future")
        if starts > now + MAX_EVENT_LEAD_TIME:
            raise _invalid_datetime("must be within 5 years from now")
        values["event_datetime"] = starts.isoformat()
    return values


def _invalid_datetime(reason: str) -> Exception:
    return invalid_input_from_details([field_error("body.event_datetime", reason)])


def _seconds_on_step(step: WizardStep, state: OnboardingState, now: datetime) -> int:
    """Seconds since the previous step was completed (since onboarding started, for step 1)."""
    since = state.started_at
    if step > WizardStep.ORGANIZATION_PROFILE:
        previous = state.wizard_step_data.get(WizardStep(step - 1).data_key, {})
        if isinstance(previous.get("completed_at"), str):
            since = datetime.fromisoformat(previous["completed_at"])
    return max(0, int((now - since).total_seconds()))


def _bounded(step_data: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(step_data, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_STEP_DATA_BYTES:
        reason = (
            f"the wizard's answers would take {size} bytes; all steps together may take {MAX_STEP_DATA_BYTES}"
        )
        raise invalid_input_from_details([field_error("body", reason, "wizard_data_too_large")])
    return step_data


def _whole_minutes(duration: timedelta) -> int:
    return max(0, int(duration.total_seconds() // 60))
