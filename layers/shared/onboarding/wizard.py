"""The setup wizard: the five steps' forms, saving them in order, drafts, skipping the wizard,
preferences.

Every change reads the state row locked first (`state.load(..., lock=True)`), so concurrent saves for
one organization are applied one after the other: none is lost, and `wizard_current_step` always
agrees with the step data stored next to it. The change is written with its metrics in one statement
(`state.save`); completing and skipping the wizard also stage the `OnboardingCompleted` /
`OnboardingSkipped` domain events (`outbox`), in the same transaction. Completing steps 2-4 creates
(or, on an edit, updates) the organization's real event, team and volunteers (`wizard_rows`) in that
transaction too. A step saved with `completed: false` is a draft: stored, not validated in full, the
wizard not advanced (`drafts`).
"""

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Annotated, Any, Literal, NamedTuple, Self, overload

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.networks import validate_email
from pydantic_core import PydanticCustomError
from sqlalchemy import Insert
from sqlalchemy.orm import Session

from onboarding import checklist, drafts, outbox, sample_data, state, wizard_rows
from onboarding.counters import Counter
from onboarding.domain_events import OnboardingCompleted, OnboardingSkipped, VolunteersInvited
from onboarding.errors import Conflict, NotFound
from onboarding.field_errors import field_error, invalid_input, invalid_input_from_details, rules
from onboarding.ids import new_id
from onboarding.metrics import MetricEventType, MetricRecord
from onboarding.state import OnboardingStateView, StateRecord, WizardStep
from onboarding.validation import MULTI_LINE, SINGLE_LINE, WHOLE_NUMBER, LocalOrTimestamp, utc_text

# An event planned further ahead than this is almost certainly a typo in the year.
MAX_EVENT_LEAD_TIME = timedelta(days=5 * 366)
# All steps' answers together, as compact UTF-8 JSON: JSON columns stay small (the data model's < 10 KB).
# The field limits keep every realistic wizard far below; only extreme inputs reach it.
MAX_STEP_DATA_BYTES = 10 * 1024


LAST_STEP = WizardStep.TUTORIAL_INTRO
TutorialId = Literal[
    "events_intro", "teams_setup", "availability_management", "solver_run", "schedule_export"
]


class UnknownWizardStep(NotFound):
    """No wizard step has this number or name (1-5, or organization_profile ... tutorial_intro)."""

    code = "unknown_wizard_step"


class StepOutOfSequence(Conflict):
    """The step is ahead of the wizard's current step: the steps are filled in order."""

    code = "wizard_step_out_of_sequence"


class WizardAlreadyCompleted(Conflict):
    """The wizard is already completed: there is nothing to skip."""

    code = "wizard_already_completed"


# Rules of the step bodies that no JSON schema states: their 422 detail `type` and what they say.
STEP_BODY_MISMATCH = "step_body_mismatch"
STEP_RULES = {
    STEP_BODY_MISMATCH: "The body must hold the fields of the step in the path (a step-1 body is "
    "refused on step 5), whatever other step it would fit.",
    "wizard_data_too_large": "All five steps' answers together take at most 10 KiB as compact JSON.",
}


class StepAlreadyCompleted(Conflict):
    """The step is completed: a draft (`completed: false`) is only for the step the wizard is at; save
    the step with all its fields to change it."""

    code = "wizard_step_already_completed"


# --- Step payloads: the contract's fields and limits; unknown fields are rejected ---


def _iana_timezone(value: str) -> str:
    if value not in state.iana_zones():
        raise PydanticCustomError(
            "unknown_timezone", "must be an IANA time zone name, for example America/Toronto"
        )
    return value


def _email_address(value: str) -> str:
    # email-validator's rules (syntax, length, domains that cannot receive mail) beyond `format: email`,
    # as pydantic's EmailStr applies them; "Ana Ruiz <ana@example.org>" is read as the bare address.
    try:
        return validate_email(value)[1]
    except PydanticCustomError as error:
        raise PydanticCustomError("invalid_email", "{why}", {"why": str(error)}) from None


def _unique_case_insensitive[T: str](values: list[T]) -> list[T]:
    seen: set[str] = set()
    unique = []
    for value in values:
        if value.casefold() not in seen:
            seen.add(value.casefold())
            unique.append(value)
    return unique


def _line(min_length: int, max_length: int) -> StringConstraints:
    # No trimming: text with whitespace at either end is refused (SINGLE_LINE, MULTI_LINE), so the
    # lengths in the schema are the lengths stored.
    return StringConstraints(min_length=min_length, max_length=max_length)


class _StepPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The data model's flag: true (the default) completes the step; false saves a draft (`draft_payload`).
    completed: Literal[True] = True


class OrganizationProfile(_StepPayload):
    model_config = ConfigDict(
        json_schema_extra=rules({"unknown_timezone": "`timezone` is a name in the IANA time zone database."})
    )

    organization_name: Annotated[str, _line(3, 100), SINGLE_LINE]
    location: Annotated[str, _line(10, 500), MULTI_LINE]
    timezone: Annotated[
        str,
        _line(1, 64),
        AfterValidator(_iana_timezone),
        Field(description="An IANA time zone name", examples=["America/Toronto", "Europe/Lisbon"]),
    ]
    organization_type: Annotated[str, _line(2, 50), SINGLE_LINE] | None = None
    volunteer_count_estimate: Annotated[StrictInt, Field(ge=0, le=1_000_000), WHOLE_NUMBER] | None = None


RoleName = Annotated[str, _line(1, 100), SINGLE_LINE]
RoleCount = Annotated[StrictInt, Field(gt=0, le=1000), WHOLE_NUMBER]


class FirstEvent(_StepPayload):
    model_config = ConfigDict(
        json_schema_extra=rules(
            {
                "datetime_not_in_future": "`event_datetime` is in the future.",
                "datetime_too_far_ahead": "`event_datetime` is at most 5 years from now.",
            }
        )
    )

    event_title: Annotated[str, _line(3, 200), SINGLE_LINE]
    event_datetime: Annotated[
        LocalOrTimestamp,
        Field(
            description="ISO 8601; without an offset it is read in the organization's time zone (step 1). "
            "Stored and answered in UTC (`Z`)."
        ),
    ]
    event_duration_minutes: Annotated[StrictInt, Field(ge=15, le=480), WHOLE_NUMBER]
    role_requirements: Annotated[dict[RoleName, RoleCount], Field(min_length=1, max_length=50)]
    location: Annotated[str, _line(1, 500), MULTI_LINE] | None = None
    description: Annotated[str, _line(0, 1000), MULTI_LINE] | None = None


class FirstTeam(_StepPayload):
    team_name: Annotated[str, _line(3, 100), SINGLE_LINE]
    team_role: Annotated[str, _line(3, 100), SINGLE_LINE]
    description: Annotated[str, _line(0, 500), MULTI_LINE] | None = None
    size_estimate: Annotated[StrictInt, Field(ge=0, le=100_000), WHOLE_NUMBER] | None = None


EmailAddress = Annotated[
    str,
    AfterValidator(_email_address),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]


class InviteVolunteers(_StepPayload):
    model_config = ConfigDict(
        json_schema_extra=rules(
            {"invalid_email": "Each address passes email-validator's checks (no domain that cannot exist)."}
        )
    )

    # Repeated addresses (ignoring case) are kept once.
    emails: Annotated[
        list[EmailAddress], Field(min_length=1, max_length=50), AfterValidator(_unique_case_insensitive)
    ]
    message: Annotated[str, _line(0, 500), MULTI_LINE] | None = None
    send_immediately: StrictBool = False


class TutorialIntro(_StepPayload):
    # Skipping the tutorials shows none of them (stated in the schema as well).
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"skip_tutorials": {"const": True}}, "required": ["skip_tutorials"]},
            "then": {"properties": {"tutorials_to_show": {"maxItems": 0}}},
        }
    )

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


def draft_payload(step: WizardStep) -> type[BaseModel]:
    """A draft of the step: `completed: false`, every field optional, only types and upper bounds checked.

    Built once per container, by the first draft of this step it validates (`drafts.draft_model` keeps
    it; about 0.6 ms), not at every cold start of the function: building the five took 3 ms of each
    cold start, and most invocations save no draft (bench/README.md, "Cold start").
    """
    return drafts.draft_model(STEP_PAYLOADS[step], completed=(Literal[False], ...))


# --- Responses ---


class OnboardingOverview(OnboardingStateView):
    """GET /v1/onboarding: the state with the sample-data status (its rows counted, as the sample-data
    route answers it) and the live checklist summary. Write routes answer the state."""

    sample_data: sample_data.SampleDataStatus
    checklist: checklist.ChecklistProgress


# What GET /v1/onboarding reads in its one statement: the checklist's (every counter, the tasks) and
# the sample rows per kind.
OVERVIEW = state.Reading(
    counters=checklist.READING.counters, extra=(*checklist.READING.extra, *sample_data.COUNTS)
)


class PreferencesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    show_all_features: StrictBool


# --- Operations ---


def get_overview(session: Session, org_id: str) -> OnboardingOverview:
    """The full state for GET /v1/onboarding, from one statement: the state, every counter (the
    milestones' among them), the checklist's tasks and the sample rows. A feature unlock or a first checklist
    completion found there is stored, as the state route and the checklist route store them."""
    read = state.load(session, org_id, OVERVIEW)
    view = state.get_onboarding(session, org_id, read)
    status = sample_data.SampleDataStatus(**dict(view.sample_data), counts=sample_data.counts_of(read))
    return OnboardingOverview(
        **{**dict(view), "sample_data": status},
        checklist=checklist.checklist_summary(session, org_id, read),
    )


def save_step(session: Session, org_id: str, step_ref: str, body: dict[str, Any]) -> OnboardingStateView:
    """Save one step's form. Steps are filled in order; an earlier step may be edited at any time.

    `completed: false` in the body saves a draft of the current step instead (`save_draft`).
    """
    step = parse_step(step_ref)
    if body.get("completed", True) is False:
        return save_draft(session, org_id, step, validate_step_payload(step, body, draft=True))
    payload = validate_step_payload(step, body)
    snapshot = state.load(session, org_id, lock=True)
    before, now = snapshot.state, snapshot.now
    _check_sequence(step, before)
    values = _stored_values(step, payload, before, now)
    first_time = step == before.wizard_current_step and not before.wizard_completed
    previous = before.wizard_step_data.get(step.data_key, {})
    if previous.get("completed") is not True:
        previous = {}  # a draft leaves nothing to keep
    rows = _rows(session, org_id, payload, values=values, previous=previous, now=now)
    # Timestamps as the API writes them everywhere: RFC 3339 in UTC with `Z`.
    record = {
        **values,
        **rows.remembered,
        "completed": True,
        "completed_at": previous.get("completed_at", utc_text(now)),
        "updated_at": utc_text(now),
    }
    after = _with_step_record(before, step, record, now)
    metrics: list[MetricRecord] = []
    if first_time:
        metrics.append(
            MetricRecord(
                org_id,
                MetricEventType.WIZARD_STEP_COMPLETED,
                event_data={"step_name": step.step_name},
                step_duration_seconds=_seconds_on_step(step, before, now),
                wizard_step_reached=step.value,
            )
        )
        if step == LAST_STEP:
            after = after._replace(wizard_completed=True, completed_at=now)
            minutes = _whole_minutes(now - before.started_at)
            metrics.append(
                MetricRecord(
                    org_id,
                    MetricEventType.WIZARD_COMPLETED,
                    completion_time_minutes=minutes,
                    wizard_step_reached=step.value,
                )
            )
            completed = OnboardingCompleted(
                started_at=before.started_at, completed_at=now, completion_time_minutes=minutes
            )
            outbox.stage(session, org_id, completed)
        else:
            after = after._replace(wizard_current_step=step.value + 1)
    # The rows just created count towards the milestones already.
    counters = {**snapshot.counters}
    for counter, added in rows.added.items():
        if counter in counters:
            counters[counter] += added
    after, unlocks = state.unlock_features(session, after, counters, now)
    state.save(session, before, after, [*metrics, *unlocks], also=rows.writes)
    return state.view(snapshot, after)


def save_draft(session: Session, org_id: str, step: WizardStep, draft: BaseModel) -> OnboardingStateView:
    """Store what the client has of the current step so far (`completed: false`), without advancing.

    Only the step the wizard is at, and only while it is not completed: a completed step is edited by
    saving it completed (409 otherwise). Saving a draft resumes a skipped wizard, as any save does.
    """
    snapshot = state.load(session, org_id, lock=True)
    before, now = snapshot.state, snapshot.now
    _check_sequence(step, before)
    if step < before.wizard_current_step or before.wizard_completed:
        raise StepAlreadyCompleted(
            f"Step {step.value} ({step.step_name}) is completed: save it with all its fields to change it.",
            details=[
                field_error("body.completed", "a completed step cannot become a draft", "step_completed")
            ],
        )
    record = {
        **draft.model_dump(mode="json", exclude_unset=True, exclude={"completed"}),
        "completed": False,
        "updated_at": utc_text(now),
    }
    after = _with_step_record(before, step, record, now)
    after, unlocks = state.unlock_features(session, after, snapshot.counters, now)
    state.save(session, before, after, unlocks)
    return state.view(snapshot, after)


def _with_step_record(
    before: StateRecord, step: WizardStep, record: dict[str, Any], now: datetime
) -> StateRecord:
    """The state with the step's record stored. Any save, draft or completed, resumes a skipped wizard
    (the skip stays in the metrics)."""
    return before._replace(
        wizard_step_data=_bounded({**before.wizard_step_data, step.data_key: record}),
        skipped=False,
        skipped_at=None,
        updated_at=now,
    )


def _check_sequence(step: WizardStep, before: StateRecord) -> None:
    if step > before.wizard_current_step:
        current = WizardStep(before.wizard_current_step)
        raise StepOutOfSequence(
            f"Step {step.value} ({step.step_name}) cannot be saved yet: the wizard is at step "
            f"{current.value} ({current.step_name}). Complete the steps in order.",
            details=[field_error("path.step", f"must be at most {current.value}", "out_of_sequence")],
        )


class _Rows(NamedTuple):
    """What completing a step writes to the host tables, and what the step remembers of it."""

    writes: tuple[Insert, ...] = ()
    remembered: Mapping[str, Any] = MappingProxyType({})
    added: Mapping[Counter, int] = MappingProxyType({})  # rows new to the milestone counters


def _rows(
    session: Session,
    org_id: str,
    payload: _StepPayload,
    *,
    values: dict[str, Any],
    previous: dict[str, Any],
    now: datetime,
) -> _Rows:
    """The real rows behind a completed step (2: the event, 3: the team, 4: the volunteers)."""
    if isinstance(payload, FirstEvent):
        event_id = previous.get("event_id") or new_id("event")
        starts = datetime.fromisoformat(values["event_datetime"])  # with the organization's offset
        write = wizard_rows.event_row(
            org_id, event_id, payload.event_title, starts, payload.event_duration_minutes
        )
        return _Rows(
            (write,), {"event_id": event_id}, {Counter.REAL_EVENTS: 0 if "event_id" in previous else 1}
        )
    if isinstance(payload, FirstTeam):
        team_id = previous.get("team_id") or new_id("team")
        write = wizard_rows.team_row(org_id, team_id, payload.team_name)
        return _Rows((write,), {"team_id": team_id}, {Counter.REAL_TEAMS: 0 if "team_id" in previous else 1})
    if isinstance(payload, InviteVolunteers):
        invited = wizard_rows.invite(session, org_id, payload.emails, previous.get("invited_people"), now)
        announce = invited.created
        if payload.send_immediately and previous.get("send_immediately") is False:
            announce = [entry["person_id"] for entry in invited.people]  # switched on: all of them now
        if announce:
            outbox.stage(
                session,
                org_id,
                VolunteersInvited(
                    person_ids=announce,
                    send_immediately=payload.send_immediately,
                    has_note=bool(payload.message),
                    invited_at=now,
                ),
            )
        return _Rows(
            remembered={"invited_people": invited.people},
            added={Counter.REAL_VOLUNTEERS: len(invited.created)},
        )
    return _Rows()


def skip_wizard(session: Session, org_id: str) -> OnboardingStateView:
    """Skip the wizard at its current step. Skipping again changes nothing; a completed wizard is final."""
    snapshot = state.load(session, org_id, lock=True)
    before, now = snapshot.state, snapshot.now
    if before.wizard_completed:
        raise WizardAlreadyCompleted("The wizard is already completed; there is nothing to skip.")
    after, metrics = before, []
    if not before.skipped:
        after = before._replace(skipped=True, skipped_at=now, updated_at=now)
        step = WizardStep(before.wizard_current_step)
        metrics.append(
            MetricRecord(
                org_id,
                MetricEventType.WIZARD_SKIPPED,
                event_data={"step_name": step.step_name},
                wizard_step_dropped=step.value,
            )
        )
        outbox.stage(session, org_id, OnboardingSkipped(skipped_at=now, wizard_step=step.value))
    after, unlocks = state.unlock_features(session, after, snapshot.counters, now)
    state.save(session, before, after, [*metrics, *unlocks])
    return state.view(snapshot, after)


def set_preferences(session: Session, org_id: str, preferences: PreferencesRequest) -> OnboardingStateView:
    snapshot = state.load(session, org_id, lock=True)
    before, now = snapshot.state, snapshot.now
    after = before
    if before.show_all_features != preferences.show_all_features:
        after = before._replace(show_all_features=preferences.show_all_features, updated_at=now)
    after, unlocks = state.unlock_features(session, after, snapshot.counters, now)
    state.save(session, before, after, unlocks)
    return state.view(snapshot, after)


def parse_step(step_ref: str) -> WizardStep:
    """A step from the path: its number (1-5) or its name."""
    for step in WizardStep:
        if step_ref in (str(step.value), step.step_name):
            return step
    names = ", ".join(step.step_name for step in WizardStep)
    raise UnknownWizardStep(f"There is no wizard step {step_ref[:40]!r}; use 1-5 or one of: {names}.")


@overload
def validate_step_payload(step: WizardStep, body: dict[str, Any]) -> _StepPayload: ...


@overload
def validate_step_payload(step: WizardStep, body: dict[str, Any], *, draft: Literal[True]) -> BaseModel: ...


def validate_step_payload(step: WizardStep, body: dict[str, Any], *, draft: bool = False) -> BaseModel:
    """The step's answers, validated in full, or as a draft (`draft_payload`); a body that fits another step
    instead is named as such."""
    model = draft_payload(step) if draft else STEP_PAYLOADS[step]
    try:
        return model.model_validate(body)
    except ValidationError as error:
        refusal = invalid_input(error)
    fits = [other for other in WizardStep if other != step and _fits(other, body)]
    if fits:
        other = fits[-1]
        reason = (
            f"this is the body of step {other.value} ({other.step_name}), not of step {step.value} "
            f"({step.step_name}) named in the path"
        )
        refusal.details.insert(0, field_error("body", reason, STEP_BODY_MISMATCH))
    raise refusal


def _fits(step: WizardStep, body: dict[str, Any]) -> bool:
    try:
        STEP_PAYLOADS[step].model_validate(body)
    except ValidationError:
        return False
    return True


# --- Internals ---


def _stored_values(
    step: WizardStep, payload: _StepPayload, current: StateRecord, now: datetime
) -> dict[str, Any]:
    values = payload.model_dump(mode="json", exclude={"completed"})
    if isinstance(payload, FirstEvent):
        starts = payload.event_datetime
        if starts.tzinfo is None:
            starts = starts.replace(tzinfo=state.organization_timezone(current))
        if starts <= now:
            raise _invalid_datetime("must be in the future", "datetime_not_in_future")
        if starts > now + MAX_EVENT_LEAD_TIME:
            raise _invalid_datetime("must be within 5 years from now", "datetime_too_far_ahead")
        # The instant, in UTC: the organization's time zone is its own field (step 1, `timezone`).
        values["event_datetime"] = utc_text(starts)
    return values


def _invalid_datetime(reason: str, rule: str) -> Exception:
    return invalid_input_from_details([field_error("body.event_datetime", reason, rule)])


def _seconds_on_step(step: WizardStep, current: StateRecord, now: datetime) -> int:
    """Seconds since the previous step was completed (since onboarding started, for step 1)."""
    since = current.started_at
    if step > WizardStep.ORGANIZATION_PROFILE:
        previous = current.wizard_step_data.get(WizardStep(step - 1).data_key, {})
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
