"""Primary keys (`<prefix>_<32 hex>`, at most 50 characters) and the host id rule of claims and events."""

import re

import pytest

from onboarding.ids import HOST_ID_PATTERN, MAX_PREFIX_LENGTH, id_default, new_id


@pytest.mark.parametrize("prefix", ["onboard", "metric", "outbox", "sample_assignment"])
def test_an_id_is_its_prefix_and_32_hex_digits_within_the_column(prefix: str) -> None:
    made = new_id(prefix)
    assert re.fullmatch(rf"{prefix}_[0-9a-f]{{32}}", made)
    assert len(made) <= 50


def test_ids_do_not_repeat() -> None:
    assert len({new_id("metric") for _ in range(10_000)}) == 10_000


@pytest.mark.parametrize(
    "prefix", ["", "Metric", "two words", "x" * (MAX_PREFIX_LENGTH + 1), "9lives", "a-b"]
)
def test_a_prefix_that_is_not_a_short_lowercase_name_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="bad id prefix"):
        new_id(prefix)
    with pytest.raises(ValueError, match="bad id prefix"):
        id_default(prefix)


def test_the_server_default_makes_the_same_shape() -> None:
    assert str(id_default("tutorial")) == (
        "('tutorial_'::text || replace((gen_random_uuid())::text, '-'::text, ''::text))"
    )


@pytest.mark.parametrize(
    ("candidate", "valid"),
    [
        ("org_a", True),
        ("ORG-42.eu:west", True),
        ("x" * 50, True),
        ("x" * 51, False),
        ("", False),
        ("org a", False),
        ("org_a'; --", False),
        ("org/a", False),
        ("orgé", False),
    ],
)
def test_host_ids_are_signupflow_primary_keys(candidate: str, valid: bool) -> None:
    assert bool(re.fullmatch(HOST_ID_PATTERN, candidate)) is valid
