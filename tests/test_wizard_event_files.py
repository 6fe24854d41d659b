"""The events/ files of the wizard and sample-data routes reach their routes and work in sequence."""

import json

import pytest

from functions.onboarding.app import lambda_handler
from tools.lambda_events import DEMO_ORG_ID, EVENTS_DIR, local_context
from tools.wizard_events import HTTP_EVENTS

# The order a developer would replay them in on a fresh demo database, and what each should answer.
SEQUENCE = [
    ("onboarding_start", 201),
    ("onboarding_get", 200),
    ("onboarding_wizard_step_save", 200),
    ("onboarding_preferences", 200),
    ("onboarding_sample_data_generate", 201),
    ("onboarding_sample_data_status", 200),
    ("onboarding_sample_data_extend", 200),
    ("onboarding_sample_data_delete", 200),
    ("onboarding_wizard_skip", 200),
]


def test_every_written_event_file_is_in_the_sequence() -> None:
    assert {name for name, *_ in HTTP_EVENTS} <= {name for name, _ in SEQUENCE}


@pytest.mark.usefixtures("database_url")
def test_the_event_files_replay_in_order_on_a_fresh_database(make_org) -> None:
    make_org(DEMO_ORG_ID)
    for name, status in SEQUENCE:
        event = json.loads((EVENTS_DIR / f"{name}.json").read_text())
        response = lambda_handler(event, local_context(function_name="OnboardingFunction"))
        assert response["statusCode"] == status, (name, response["body"])


def test_the_step_event_carries_its_path_parameter() -> None:
    event = json.loads((EVENTS_DIR / "onboarding_wizard_step_save.json").read_text())
    assert event["routeKey"] == "PUT /v1/onboarding/wizard/steps/{step}"
    assert event["pathParameters"] == {"step": "1"}
