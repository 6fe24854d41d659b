"""Timestamps in and out: ISO 8601 text only, always with an offset, UTC on the wire, cursors exact."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from onboarding.errors import InvalidInput
from onboarding.pagination import decode_cursor, encode_cursor
from onboarding.published_events import OnboardingSkippedDetail
from onboarding.purge import InvalidScheduledEvent, scheduled_invocation
from onboarding.state import sample_data_summary
from onboarding.validation import iso_text
from tests.fixtures import state_record

NOW = datetime(2026, 11, 25, 3, 0, 4, 118233, tzinfo=UTC)


@pytest.mark.parametrize("value", ["2026-11-25T03:00:00Z", "2026-11-25T04:00:00+01:00", "not a date"])
def test_date_times_are_read_from_text(value: str) -> None:
    assert iso_text(value) == value  # the field's own type then parses (or refuses) the text


@pytest.mark.parametrize("value", [1764039600, 1764039600.5, None, ["2026-11-25"]])
def test_numbers_are_not_read_as_unix_timestamps(value: object) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        iso_text(value)


@pytest.mark.parametrize(
    "at",
    [
        NOW,
        NOW.astimezone(timezone(timedelta(hours=-5))),
        datetime(1, 1, 2, tzinfo=UTC),
        NOW.replace(microsecond=0),
    ],
)
def test_a_cursor_gives_back_the_exact_position_in_utc(at: datetime) -> None:
    position, row_id = decode_cursor(encode_cursor(at, "metric_1"))
    assert (position, position.tzinfo, row_id) == (at, UTC, "metric_1")


@pytest.mark.parametrize(
    "token",
    [
        encode_cursor(NOW, "x" * 51),
        "WyIyMDI2LTExLTI1VDAzOjAwOjA0IiwibWV0cmljXzEiXQ",  # ["2026-11-25T03:00:04","metric_1"]: no offset
        "bm90IGpzb24",
        "%%%",
        "",
    ],
)
def test_anything_but_one_of_our_cursors_is_a_422_on_the_parameter(token: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(token)
    assert raised.value.details == [
        {"field": "query.cursor", "reason": "not a cursor returned by this API", "type": "cursor_invalid"}
    ]


def test_published_timestamps_are_utc_with_a_z() -> None:
    detail = OnboardingSkippedDetail(
        event_id="outbox_1", organization_id="org_a", occurred_at=NOW, skipped_at=NOW, wizard_step=2
    ).model_dump(mode="json")
    assert detail["occurred_at"] == detail["skipped_at"] == "2026-11-25T03:00:04.118233Z"


@pytest.mark.parametrize(
    ("event", "accepted"),
    [
        ({"time": "2026-11-25T03:00:00Z"}, True),
        ({"time": "2026-11-25T03:00:00+00:00", "id": "x", "detail": {"execution_id": "e"}}, True),
        ({"time": "2026-11-25T03:00:00"}, False),  # no offset
        ({"time": 1764039600}, False),
        ({"time": "2026-11-25T03:10:00Z"}, False),  # beyond the clock skew: a future cutoff
        ({}, False),
    ],
)
def test_the_purge_reads_its_cutoff_from_the_scheduled_time(event: dict[str, Any], accepted: bool) -> None:
    now = datetime(2026, 11, 25, 3, 0, 30, tzinfo=UTC)
    if accepted:
        assert scheduled_invocation(event, now=now).time == datetime(2026, 11, 25, 3, tzinfo=UTC)
    else:
        with pytest.raises(InvalidScheduledEvent):
            scheduled_invocation(event, now=now)


@pytest.mark.parametrize(
    ("expiry", "expired"), [(NOW + timedelta(seconds=1), False), (NOW, True), (NOW - timedelta(days=1), True)]
)
def test_sample_data_has_expired_from_its_expiry_on(expiry: datetime, expired: bool) -> None:
    generated = state_record(
        sample_data_generated=True,
        sample_data_generated_at=NOW - timedelta(days=30),
        sample_data_expiry=expiry,
    )
    summary = sample_data_summary(generated, NOW)
    assert (summary.present, summary.expires_at, summary.expired) == (True, expiry, expired)


def test_without_sample_data_no_dates_are_shown() -> None:
    summary = sample_data_summary(state_record(sample_data_cleared=True, sample_data_expiry=NOW), NOW)
    assert (summary.present, summary.generated_at, summary.expires_at, summary.expired, summary.cleared) == (
        False,
        None,
        None,
        False,
        True,
    )
