"""Wilson and Newcombe intervals, held to the values Newcombe published (Statistics in Medicine 1998:
17:857-872 Table I, method 3, for one proportion; 17:873-890 Table II, method 10, for a difference)."""

import pytest

from onboarding.intervals import Z, newcombe, wilson


def test_z_is_the_normal_quantile_of_a_two_sided_95_percent_interval() -> None:
    assert pytest.approx(1.959964, abs=1e-6) == Z


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0),
    ],
)
def test_wilson_interval_matches_newcombes_published_values(
    successes: int, trials: int, low: float, high: float
) -> None:
    interval = wilson(successes, trials)
    assert interval is not None
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)
    assert interval.method == "wilson"
    assert interval.confidence == 0.95


def test_wilson_interval_of_no_trials_is_none() -> None:
    assert wilson(0, 0) is None


def test_wilson_interval_rejects_more_successes_than_trials() -> None:
    with pytest.raises(ValueError, match="between 0 and trials"):
        wilson(3, 2)


@pytest.mark.parametrize(
    ("first", "second", "difference", "low", "high"),
    [
        ((56, 70), (48, 80), 0.2, 0.0524, 0.3339),
        ((9, 10), (3, 10), 0.6, 0.1705, 0.8090),
        ((6, 7), (2, 7), 0.5714, 0.0582, 0.8062),
        ((5, 56), (0, 29), 0.0893, -0.0381, 0.1926),
        ((0, 10), (0, 20), 0.0, -0.1611, 0.2775),
        ((0, 10), (0, 10), 0.0, -0.2775, 0.2775),
        ((10, 10), (0, 20), 1.0, 0.6791, 1.0),
    ],
)
def test_newcombe_difference_interval_matches_newcombes_published_values(
    first: tuple[int, int], second: tuple[int, int], difference: float, low: float, high: float
) -> None:
    result = newcombe(*first, *second)
    assert result is not None
    estimate, interval = result
    assert round(estimate, 4) == difference
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)
    assert interval.method == "newcombe"


def test_newcombe_difference_with_an_empty_group_is_none() -> None:
    assert newcombe(3, 10, 0, 0) is None
