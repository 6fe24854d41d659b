"""The date patterns openapi.json states are the calendar: every day that exists, and no other."""

import re
from datetime import date, timedelta

import pytest

from onboarding import validation
from onboarding.validation import DATE_PATTERN, TIMESTAMP_PATTERN


def test_the_date_pattern_is_the_calendar_from_1000_to_9999() -> None:
    pattern = re.compile(f"^{DATE_PATTERN}$")
    # Every day of some spans (days 1-28 exist in every month: the spans check their shape), then
    # days 29-31 of every month of every year, where the calendar is decided.
    for first, last in [(1000, 1004), (1896, 1904), (1996, 2032), (2096, 2104), (2396, 2404), (9995, 9999)]:
        day = date(first, 1, 1)
        while day.year <= last:
            assert pattern.match(day.isoformat()), day
            day += timedelta(days=1) if day < date(9999, 12, 31) else timedelta(0)
            if day == date(9999, 12, 31):
                break
    for year in range(1000, 10000):
        for month in range(1, 13):
            for number in range(29, 32):
                try:
                    date(year, month, number)
                    exists = True
                except ValueError:
                    exists = False
                assert bool(pattern.match(f"{year:04d}-{month:02d}-{number:02d}")) is exists


def test_timestamps_take_real_days_only() -> None:
    pattern = re.compile(TIMESTAMP_PATTERN)
    assert pattern.match("2028-02-29T10:00:00Z") and pattern.match("2000-02-29T10:00:00+01:00")
    assert not pattern.match("2027-02-29T10:00:00Z") and not pattern.match("1900-02-29T10:00:00Z")
    assert not pattern.match("2026-04-31T10:00:00Z") and not pattern.match("2026-02-30T10:00:00Z")


DATE_TIMES = [
    "2026-11-25T09:30:00Z",
    "2026-11-25T09:30:00",
    "2026-11-25T09:30:00.123456+01:00",
    "2026-11-25T09:30:00.123456",
    "2026-11-25T09:30:00.1234567Z",
    "2026-11-25T09:30:00+15:59",
    "2026-11-25T09:30:00+16:00",
    "2026-11-25T09:30:00-05:00x",
    "2026-11-25T09:30",
    "2024-02-29T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "9998-12-31T23:59:59Z",
    "9999-01-01T00:00:00Z",
    "2026-11-25 09:30:00Z",
    "2026-11-25T24:00:00Z",
    "2026-11-25T09:30:00z",
    "",
]


@pytest.mark.parametrize("value", DATE_TIMES)
def test_the_one_compiled_date_time_pattern_agrees_with_both_published_patterns(value: str) -> None:
    # validation compiles one expression for the two patterns the schemas state (a compile per pattern
    # cost ~0.5 ms at every cold start): the answers must be the patterns' own.
    assert validation._is_timestamp(value) == bool(re.fullmatch(validation.TIMESTAMP_PATTERN, value))
    assert validation._is_local_or_timestamp(value) == bool(
        re.fullmatch(validation.LOCAL_OR_TIMESTAMP_PATTERN, value)
    )
