"""The caller's organization and role come from verified JWT claims only."""

import pytest

from onboarding import container
from onboarding.auth import Group, authorize, parse_groups
from onboarding.errors import Forbidden, Unauthorized
from tools.lambda_events import http_api_event


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["org_admin", "analyst"], {"org_admin", "analyst"}),
        ("[org_admin analyst]", {"org_admin", "analyst"}),
        ("[org_admin  analyst]", {"org_admin", "analyst"}),
        ("org_admin", {"org_admin"}),
        ("[]", set()),
        ("", set()),
        (None, set()),
        (42, set()),
        ([1, None, "org_admin"], {"org_admin"}),
    ],
)
def test_groups_are_accepted_as_list_or_string(raw: object, expected: set[str]) -> None:
    assert parse_groups(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "[volunteers,org_admin]",
        "volunteers,org_admin",
        ["volunteers,org_admin"],
        "[volunteers;org_admin]",
    ],
)
def test_groups_are_never_split_on_commas(raw: object) -> None:
    assert "org_admin" not in parse_groups(raw)
    assert not any("," in group or ";" in group for group in parse_groups(raw))


@pytest.mark.parametrize("separator", ["\u00a0", "\t", "\n", "\u2003", "\u3000", "\x1f"])
def test_groups_are_split_on_ascii_spaces_only(separator: str) -> None:
    # Not split, and the member holding the separator is refused as a whole.
    assert parse_groups(f"[volunteers{separator}org_admin]") == frozenset()
    assert parse_groups(f"[editors volunteers{separator}org_admin]") == {"editors"}


@pytest.mark.parametrize("raw", ['["org_admin","analyst"]', '["org_admin"]', "[org_admin", "org_admin]"])
def test_list_syntax_inside_the_string_is_not_a_group_name(raw: str) -> None:
    # A JSON-encoded list is not what HTTP API sends; a Cognito group literally named "org_admin" (with
    # quotes) would flatten to '["org_admin"]' and must not grant org_admin.
    assert "org_admin" not in parse_groups(raw)


def event_with(claims: dict[str, object]) -> dict[str, object]:
    return http_api_event("GET", "/v1/onboarding", claims=claims)


def test_org_admin_gets_its_org_from_the_claims() -> None:
    caller = authorize(
        event_with({"custom:org_id": "org_a", "cognito:groups": "[org_admin]"}), Group.ORG_ADMIN
    )
    assert caller.org_id == "org_a"


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"cognito:groups": "[org_admin]"},
        {"custom:org_id": "", "cognito:groups": "[org_admin]"},
        {"custom:org_id": "x" * 51, "cognito:groups": "[org_admin]"},
        {"custom:org_id": "org a'; --", "cognito:groups": "[org_admin]"},
        {"custom:org_id": ["org_a"], "cognito:groups": "[org_admin]"},
    ],
)
def test_missing_or_garbled_org_claim_is_unauthorized(claims: dict[str, object]) -> None:
    with pytest.raises(Unauthorized):
        authorize(event_with(claims), Group.ORG_ADMIN)


def test_member_without_org_admin_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        authorize(event_with({"custom:org_id": "org_a", "cognito:groups": "[member]"}), Group.ORG_ADMIN)


def test_analyst_needs_the_analyst_group() -> None:
    assert authorize(event_with({"cognito:groups": ["platform_analyst"]}), Group.PLATFORM_ANALYST)
    with pytest.raises(Forbidden):
        authorize(
            event_with({"custom:org_id": "org_a", "cognito:groups": "[org_admin]"}), Group.PLATFORM_ANALYST
        )


def test_no_identity_at_all_is_unauthorized_on_analytics() -> None:
    with pytest.raises(Unauthorized):
        authorize(event_with({}), Group.PLATFORM_ANALYST)


def test_claim_names_are_configurable(monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setenv("ORG_ID_CLAIM", "tenant")
    monkeypatch.setenv("GROUPS_CLAIM", "roles")
    container.reset()
    try:
        caller = authorize(event_with({"tenant": "org_t", "roles": ["org_admin"]}), Group.ORG_ADMIN)
    finally:
        container.reset()
    assert caller.org_id == "org_t"


@pytest.mark.parametrize("groups", [["platform_analyst"], "[platform_analyst]", "[member]"])
def test_an_identity_without_the_org_admin_group_is_forbidden_even_without_an_org_claim(
    groups: object,
) -> None:
    # Authenticated, wrong group: 403 (the missing organization claim only matters to org admins).
    with pytest.raises(Forbidden):
        authorize(event_with({"cognito:groups": groups}), Group.ORG_ADMIN)
