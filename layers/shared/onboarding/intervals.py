"""95 % confidence intervals for the analysts' rates: Wilson's score interval for one proportion, and
Newcombe's hybrid score interval for the difference of two independent proportions.

- Wilson (1927): the proportions p for which |p̂ - p| <= z·sqrt(p(1-p)/n). Unlike the textbook
  p̂ ± z·sqrt(p̂(1-p̂)/n) it stays inside [0, 1] and keeps close to its nominal coverage for small n
  and rates near 0 or 1 (onboarding cohorts of a few dozen organizations are common).
- Newcombe (1998, "Interval estimation for the difference between independent proportions",
  Statistics in Medicine 17:873-890, method 10): with d = p̂₁ - p̂₂ and each rate's Wilson interval
  (l₁, u₁), (l₂, u₂): L = d - sqrt((p̂₁-l₁)² + (u₂-p̂₂)²), U = d + sqrt((u₁-p̂₁)² + (p̂₂-l₂)²).

No continuity correction. An empty group (n = 0) has no rate and no interval (None).
Tests hold both to the values published by Newcombe (tests/unit/test_intervals.py).
"""

import math
from statistics import NormalDist
from typing import Final, Literal

from pydantic import BaseModel

CONFIDENCE: Final = 0.95
Z: Final = NormalDist().inv_cdf(1 - (1 - CONFIDENCE) / 2)  # 1.959963984540054


class Interval(BaseModel):
    """A 95 % confidence interval of a rate (fractions in [0, 1]) or of a difference of rates ([-1, 1])."""

    low: float
    high: float
    confidence: float = CONFIDENCE
    method: Literal["wilson", "newcombe"]


def wilson(successes: int, trials: int) -> Interval | None:
    """Wilson's score interval for successes/trials; None when there are no trials."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError("successes must be between 0 and trials")
    p = successes / trials
    z2 = Z * Z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    # At p = 0 or 1 the bound is exactly 0 or 1 (rounding would leave 1e-17 outside).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Interval(low=low, high=high, method="wilson")


def newcombe(
    successes_1: int, trials_1: int, successes_2: int, trials_2: int
) -> tuple[float, Interval] | None:
    """p̂₁ - p̂₂ and Newcombe's hybrid score interval for it; None when either group is empty."""
    first, second = wilson(successes_1, trials_1), wilson(successes_2, trials_2)
    if first is None or second is None:
        return None
    p1, p2 = successes_1 / trials_1, successes_2 / trials_2
    difference = p1 - p2
    low = difference - math.sqrt((p1 - first.low) ** 2 + (second.high - p2) ** 2)
    high = difference + math.sqrt((first.high - p1) ** 2 + (p2 - second.low) ** 2)
    return difference, Interval(low=max(-1.0, low), high=min(1.0, high), method="newcombe")
