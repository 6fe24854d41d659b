"""The tokens a web client actually sends: Cognito ID and access tokens, as HTTP API passes their claims.

API Gateway's JWT authorizer hands the function every claim as a string: numbers and booleans as text,
a list such as `cognito:groups` as "[a b]" (`tools.serve.claims_from_authorization` does the same for
the local API, and is used here to flatten the realistic payloads below). An access token carries no
custom attributes until the pre token generation trigger (functions/access_token_claims) adds the
organization claim.
"""

import json
import time
from typing import Any

import pytest
from sqlalchemy.orm import Session

from functions.access_token_claims.app import lambda_handler as access_token_claims
from functions.onboarding.app import lambda_handler as onboarding
from tests.fixtures import HandlerResponse
from tests.host_rows import start_onboarding
from tools.lambda_events import EVENTS_DIR, http_api_event, local_context
from tools.serve import claims_from_authorization, dev_token

ORG = "org_tokens"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123"
CLIENT_ID = "1example23456789"
SUB = "4f2c8a1e-6b3d-4c9a-9e7f-1a2b3c4d5e6f"


def id_token(org_id: str | None = ORG, groups: list[str] | None = None) -> dict[str, Any]:
    """An ID token's payload as Cognito issues it (custom attributes included)."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": SUB,
        "cognito:groups": groups if groups is not None else ["org_admin"],
        "email_verified": True,
        "iss": ISSUER,
        "cognito:username": SUB,
        "origin_jti": "8c4d3c0e-0d3b-4bd5-9f4a-2b7c1c1d9a10",
        "aud": CLIENT_ID,
        "event_id": "0b5e9c6c-3f5a-4a55-9a8e-6f1d2c3b4a59",
        "token_use": "id",
        "auth_time": now - 60,
        "exp": now + 3600,
        "iat": now - 60,
        "jti": "3f9c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5b",
        "email": "admin@grace.example",
    }
    if org_id is not None:
        payload["custom:org_id"] = org_id
    return payload


def access_token(groups: list[str] | None = None, added: dict[str, str] | None = None) -> dict[str, Any]:
    """An access token's payload as Cognito issues it: no custom attributes, `client_id` instead of `aud`."""
    now = int(time.time())
    return {
        "sub": SUB,
        "cognito:groups": groups if groups is not None else ["org_admin"],
        "iss": ISSUER,
        "client_id": CLIENT_ID,
        "origin_jti": "8c4d3c0e-0d3b-4bd5-9f4a-2b7c1c1d9a10",
        "event_id": "0b5e9c6c-3f5a-4a55-9a8e-6f1d2c3b4a59",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": now - 60,
        "exp": now + 3600,
        "iat": now - 60,
        "jti": "7d1e2f3a-4b5c-4d6e-8f70-9a0b1c2d3e4f",
        "username": SUB,
        **(added or {}),
    }


def as_http_api_passes(payload: dict[str, Any]) -> dict[str, str]:
    claims = claims_from_authorization(f"Bearer {dev_token(payload)}")
    assert claims is not None
    return claims


def get_onboarding(claims: dict[str, Any]) -> HandlerResponse:
    return HandlerResponse(
        onboarding(http_api_event("GET", "/v1/onboarding", claims=claims), local_context())
    )


@pytest.fixture
def org(make_org, db: Session) -> str:
    make_org(ORG)
    start_onboarding(db, ORG)
    return ORG


def test_http_api_flattens_the_claims_to_strings() -> None:
    claims = as_http_api_passes(id_token(groups=["org_admin", "platform_analyst"]))
    assert claims["cognito:groups"] == "[org_admin platform_analyst]"
    assert claims["email_verified"] == "true"
    assert claims["exp"].isdigit()


def test_an_id_token_is_served(org, database_url) -> None:
    response = get_onboarding(as_http_api_passes(id_token()))
    assert response.status == 200, response
    assert response.json["organization_id"] == ORG


def test_an_access_token_without_the_organization_claim_is_401_naming_the_claim(database_url) -> None:
    response = get_onboarding(as_http_api_passes(access_token()))
    assert response.status == 401
    error = response.json["error"]
    assert error["code"] == "unauthorized"
    assert "'custom:org_id'" in error["message"]
    assert "pre token generation" in error["message"]  # says how to get it
    assert error["details"] == [{"field": "claims.custom:org_id", "reason": "missing"}]


def test_an_id_token_without_the_organization_claim_is_401_naming_the_claim(database_url) -> None:
    response = get_onboarding(as_http_api_passes(id_token(org_id=None)))
    assert response.status == 401
    assert "'custom:org_id'" in response.json["error"]["message"]
    assert "access token" not in response.json["error"]["message"]


def test_a_garbled_organization_claim_is_401_saying_it_is_invalid(database_url) -> None:
    response = get_onboarding(as_http_api_passes(id_token(org_id="org a'; --")))
    assert response.status == 401
    assert response.json["error"]["details"] == [{"field": "claims.custom:org_id", "reason": "invalid"}]


def test_an_access_token_with_the_claim_the_trigger_adds_is_served(org, database_url) -> None:
    response = get_onboarding(as_http_api_passes(access_token(added={"custom:org_id": ORG})))
    assert response.status == 200, response
    assert response.json["organization_id"] == ORG


# --- The pre token generation trigger (V2_0) ---


def trigger_event(**user_attributes: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(
        (EVENTS_DIR / "access_token_claims_pre_token_generation.json").read_text()
    )
    event["request"]["userAttributes"] = {
        "sub": SUB,
        "cognito:user_status": "CONFIRMED",
        "email_verified": "true",
        "email": "admin@grace.example",
        **user_attributes,
    }
    return event


def run_trigger(event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = access_token_claims(event, local_context())
    details: dict[str, Any] = response["response"]["claimsAndScopeOverrideDetails"]
    return details


def test_the_trigger_adds_the_organization_claim_to_both_tokens() -> None:
    details = run_trigger(trigger_event(**{"custom:org_id": ORG}))
    assert details["accessTokenGeneration"]["claimsToAddOrOverride"] == {"custom:org_id": ORG}
    assert details["idTokenGeneration"]["claimsToAddOrOverride"] == {"custom:org_id": ORG}


def test_the_trigger_hands_the_groups_back_unchanged() -> None:
    event = trigger_event(**{"custom:org_id": ORG})
    event["request"]["groupConfiguration"] = {
        "groupsToOverride": ["org_admin", "volunteers"],
        "iamRolesToOverride": [],
        "preferredRole": None,
    }
    assert run_trigger(event)["groupOverrideDetails"] == event["request"]["groupConfiguration"]


def test_the_trigger_adds_nothing_for_a_user_without_an_organization() -> None:
    # A platform analyst: no organization attribute, so no claim (and no suppressed claims either).
    details = run_trigger(trigger_event())
    assert details["accessTokenGeneration"] == {"claimsToAddOrOverride": {}}
    assert details["idTokenGeneration"] == {"claimsToAddOrOverride": {}}


def test_the_trigger_uses_the_configured_claim_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from onboarding.settings import get_settings

    monkeypatch.setenv("ORG_ID_CLAIM", "custom:tenant")
    get_settings.cache_clear()
    try:
        details = run_trigger(trigger_event(**{"custom:tenant": ORG, "custom:org_id": "org_other"}))
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert details["accessTokenGeneration"]["claimsToAddOrOverride"] == {"custom:tenant": ORG}


def test_an_access_token_issued_through_the_trigger_is_served(org, database_url) -> None:
    # The whole path: the trigger's answer shapes the access token, HTTP API flattens it, the API serves it.
    details = run_trigger(trigger_event(**{"custom:org_id": ORG}))
    payload = access_token(groups=details["groupOverrideDetails"]["groupsToOverride"])
    payload.update(details["accessTokenGeneration"]["claimsToAddOrOverride"])
    response = get_onboarding(as_http_api_passes(payload))
    assert response.status == 200, response
    assert response.json["organization_id"] == ORG


# --- Groups: split on ASCII spaces only (issue 14) ---


def test_a_group_whose_name_contains_a_comma_grants_nothing(org, database_url) -> None:
    # "volunteers,org_admin" is one Cognito group (names may hold commas), flattened to "[volunteers,org_admin]".
    response = get_onboarding(as_http_api_passes(id_token(groups=["volunteers,org_admin"])))
    assert response.status == 403


def test_a_group_whose_name_contains_a_non_breaking_space_grants_nothing(org, database_url) -> None:
    response = get_onboarding(as_http_api_passes(id_token(groups=["volunteers\u00a0org_admin"])))
    assert response.status == 403


def test_a_refused_group_name_does_not_hide_the_callers_other_groups(org, database_url) -> None:
    response = get_onboarding(as_http_api_passes(id_token(groups=["volunteers,editors", "org_admin"])))
    assert response.status == 200, response
