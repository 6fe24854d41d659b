"""The domain events onboarding publishes: their EventBridge detail-types and detail schemas.

What consumers receive as `detail` is the envelope's fields (`publisher.EventEnvelope`: event id,
organization, when, schema version), then the event's own (`OnboardingCompleted` ...): ids, counts,
enums and timestamps only, never names, e-mail addresses or free text. The two together are modelled
in `published_events`, from which the JSON Schemas in events/schemas/ are generated
(`python -m tools.event_schemas`). How events are written and sent: `outbox` (staged in the change's
transaction) and `publisher` (EventBridge), which alone builds the envelope: the functions that stage
events do not build its model (bench/README.md, "Cold start").
"""

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class DomainEventType(StrEnum):
    """The EventBridge `detail-type` of each published event."""

    ONBOARDING_COMPLETED = "OnboardingCompleted"
    ONBOARDING_SKIPPED = "OnboardingSkipped"
    FEATURE_UNLOCKED = "FeatureUnlocked"
    SAMPLE_DATA_GENERATED = "SampleDataGenerated"
    SAMPLE_DATA_CLEARED = "SampleDataCleared"
    VOLUNTEERS_INVITED = "VolunteersInvited"


# --- Event details (ids, counts and timestamps only: no names, emails or free text) ---


# Serialized details always carry every field, so the published schemas list them all as required.
# (The envelope, `publisher.EventEnvelope`, has the same; a test holds the two equal.) A configuration,
# not a common base model: pydantic builds every model class, even one without fields (~0.2 ms).
STRICT = ConfigDict(extra="forbid", frozen=True, json_schema_serialization_defaults_required=True)


class EventDetail(BaseModel):
    """An event's own fields; `event_type` is its detail-type."""

    model_config = STRICT

    event_type: ClassVar[DomainEventType]


class SampleDataCounts(BaseModel):
    """Rows per kind, as in the contract's sample-data sizes."""

    model_config = STRICT

    events: int = Field(ge=0)
    teams: int = Field(ge=0)
    volunteers: int = Field(ge=0)
    assignments: int = Field(ge=0)


class OnboardingCompleted(EventDetail):
    """The organization finished the setup wizard (saved step 5)."""

    event_type = DomainEventType.ONBOARDING_COMPLETED

    started_at: AwareDatetime
    completed_at: AwareDatetime
    completion_time_minutes: int = Field(ge=0, description="Whole minutes from start to completion.")


class OnboardingSkipped(EventDetail):
    """The organization skipped the setup wizard."""

    event_type = DomainEventType.ONBOARDING_SKIPPED

    skipped_at: AwareDatetime
    wizard_step: int = Field(ge=1, le=5, description="The wizard step the organization skipped from.")


class FeatureUnlocked(EventDetail):
    """A feature unlocked by a milestone counted on real (not sample) rows; sent once per feature."""

    event_type = DomainEventType.FEATURE_UNLOCKED

    feature_id: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,49}$",
        examples=["recurring_events", "manual_editing", "sms_notifications"],
    )
    unlocked_at: AwareDatetime


class SampleDataGenerated(EventDetail):
    """The organization generated sample data (rows marked `is_sample`, deleted when it expires)."""

    event_type = DomainEventType.SAMPLE_DATA_GENERATED

    size: Literal["minimal", "standard", "comprehensive"]
    counts: SampleDataCounts
    generated_at: AwareDatetime
    expires_at: AwareDatetime


class SampleDataCleared(EventDetail):
    """The organization's sample rows were deleted: by the organization, or by the nightly purge."""

    event_type = DomainEventType.SAMPLE_DATA_CLEARED

    reason: Literal["manual", "expired"]
    counts: SampleDataCounts = Field(description="Sample rows deleted.")
    cleared_at: AwareDatetime


class VolunteersInvited(EventDetail):
    """The setup wizard's step 4 added volunteers to the organization as `people` rows (`is_sample`
    false, `roles` volunteer): the host sends them their invitations. Ids only: the addresses are in
    the host's own `people` rows, the optional personal message in the organization's onboarding state
    (`wizard_step_data.step_4.message`)."""

    event_type = DomainEventType.VOLUNTEERS_INVITED

    person_ids: list[str] = Field(
        min_length=1,
        max_length=50,
        description="The `people` rows to invite (created by the wizard; all of the step's people when "
        "send_immediately has just been switched on).",
    )
    send_immediately: bool = Field(description="Send the invitations now (false: the organization will).")
    has_note: bool = Field(description="Whether step 4 carries a personal note for the invitations.")
    invited_at: AwareDatetime


DETAIL_MODELS: dict[DomainEventType, type[EventDetail]] = {
    DomainEventType.ONBOARDING_COMPLETED: OnboardingCompleted,
    DomainEventType.ONBOARDING_SKIPPED: OnboardingSkipped,
    DomainEventType.FEATURE_UNLOCKED: FeatureUnlocked,
    DomainEventType.SAMPLE_DATA_GENERATED: SampleDataGenerated,
    DomainEventType.SAMPLE_DATA_CLEARED: SampleDataCleared,
    DomainEventType.VOLUNTEERS_INVITED: VolunteersInvited,
}
