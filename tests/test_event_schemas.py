"""The published events' JSON Schemas are committed, current, and describe what is actually sent."""

from datetime import UTC, datetime

import pytest

from onboarding.domain_events import STRICT, DomainEventType
from onboarding.published_events import FeatureUnlockedDetail
from onboarding.publisher import EventEnvelope
from tools.event_schemas import SCHEMAS_DIR, detail_schema, rendered

PERSONAL_DATA_WORDS = ("email", "name", "phone", "address", "message", "location", "title")


def test_committed_schemas_match_the_models() -> None:
    stale = [path.name for path, text in rendered().items() if not path.exists() or path.read_text() != text]
    assert stale == [], "run `python -m tools.event_schemas` and commit events/schemas/"


def test_there_is_one_schema_per_event_type_and_no_other() -> None:
    assert {path.stem for path in SCHEMAS_DIR.glob("*.json")} == {t.value for t in DomainEventType}


@pytest.mark.parametrize("event_type", list(DomainEventType))
def test_every_detail_carries_the_event_id_to_deduplicate_on(event_type) -> None:
    schema = detail_schema(event_type)
    assert {"event_id", "organization_id", "occurred_at", "schema_version"} <= set(schema["required"])
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("event_type", list(DomainEventType))
def test_no_detail_field_can_carry_personal_data(event_type) -> None:
    fields = set(detail_schema(event_type)["properties"])
    assert not [field for field in fields if any(word in field for word in PERSONAL_DATA_WORDS)]


def test_the_envelope_fields_come_first() -> None:
    detail = FeatureUnlockedDetail(
        event_id="outbox_1",
        organization_id="org_a",
        occurred_at=datetime.now(UTC),
        feature_id="x",
        unlocked_at=datetime.now(UTC),
    )
    assert list(detail.model_dump())[:4] == ["event_id", "organization_id", "occurred_at", "schema_version"]


def test_the_envelope_is_as_strict_as_the_details() -> None:
    # The envelope lives in `publisher` (only it builds one), the details in `domain_events`.
    assert EventEnvelope.model_config == STRICT
