"""What consumers receive as an event's `detail`: the envelope's fields (`publisher.EventEnvelope`),
then the event's own (`domain_events.OnboardingCompleted` ...), one model per detail-type.

The JSON Schemas in events/schemas/ are generated from these models (`python -m tools.event_schemas`)
and the tests validate what the publisher sends against them. The service itself never builds them:
the publisher serializes the envelope and the stored detail, so no function loads this module at its
cold start (`tests/test_function_imports.py`).
"""

from onboarding.domain_events import (
    DomainEventType,
    FeatureUnlocked,
    OnboardingCompleted,
    OnboardingSkipped,
    SampleDataCleared,
    SampleDataGenerated,
    VolunteersInvited,
)
from onboarding.publisher import EventEnvelope


class OnboardingCompletedDetail(OnboardingCompleted, EventEnvelope):
    pass


class OnboardingSkippedDetail(OnboardingSkipped, EventEnvelope):
    pass


class FeatureUnlockedDetail(FeatureUnlocked, EventEnvelope):
    pass


class SampleDataGeneratedDetail(SampleDataGenerated, EventEnvelope):
    pass


class SampleDataClearedDetail(SampleDataCleared, EventEnvelope):
    pass


class VolunteersInvitedDetail(VolunteersInvited, EventEnvelope):
    pass


PUBLISHED_DETAIL_MODELS: dict[DomainEventType, type[EventEnvelope]] = {
    DomainEventType.ONBOARDING_COMPLETED: OnboardingCompletedDetail,
    DomainEventType.ONBOARDING_SKIPPED: OnboardingSkippedDetail,
    DomainEventType.FEATURE_UNLOCKED: FeatureUnlockedDetail,
    DomainEventType.SAMPLE_DATA_GENERATED: SampleDataGeneratedDetail,
    DomainEventType.SAMPLE_DATA_CLEARED: SampleDataClearedDetail,
    DomainEventType.VOLUNTEERS_INVITED: VolunteersInvitedDetail,
}
