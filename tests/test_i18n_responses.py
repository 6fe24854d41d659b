"""Responses keep their i18n keys and add the text in the language negotiated from Accept-Language."""

import pytest

from tests.fixtures import admin_claims


def test_checklist_titles_and_descriptions_are_localized(api, org: str) -> None:
    tasks = api("GET", "/v1/onboarding/checklist", headers={"accept-language": "fr-FR,fr;q=0.9"}).json[
        "tasks"
    ]
    profile = next(task for task in tasks if task["id"] == "complete_profile")
    assert profile["title_key"] == "onboarding.checklist.complete_profile"
    assert profile["title"] == "Complétez le profil de votre organisation"
    assert profile["description"].startswith("Terminez l'assistant")


def test_tutorial_titles_and_descriptions_are_localized(api, org: str) -> None:
    tutorials = api("GET", "/v1/onboarding/tutorials", headers={"accept-language": "zh-TW"}).json["tutorials"]
    events = next(t for t in tutorials if t["id"] == "events_intro")
    assert (events["title_key"], events["description_key"]) == (
        "onboarding.tutorials.events_intro",
        "onboarding.tutorials.events_intro_desc",
    )
    assert (events["title"], events["description"]) == ("活動入門", "建立、編輯和重複活動。")


def test_the_wizard_step_and_features_are_localized_in_the_state(api, org: str) -> None:
    state = api("GET", "/v1/onboarding", headers={"accept-language": "es"}).json
    assert (state["wizard_current_step_name"], state["wizard_current_step_title"]) == (
        "organization_profile",
        "Perfil de la organización",
    )
    sms = next(f for f in state["feature_progress"] if f["feature_id"] == "sms_notifications")
    assert (sms["name_key"], sms["name"]) == (
        "onboarding.features.sms_notifications",
        "Notificaciones por SMS",
    )


def test_errors_keep_their_code_and_message_and_add_a_localized_message(api, org: str) -> None:
    response = api(
        "PUT",
        "/v1/onboarding/wizard/steps/3",
        body={"name": "Greeters"},
        headers={"accept-language": "pt-BR"},
    )
    assert response.status == 422
    error = response.json["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith("The request is not valid")  # the developer's text stays English
    assert error["localized_message"] == "Alguns campos não são válidos; verifique-os."


def test_an_error_before_routing_is_localized_too(api) -> None:
    response = api(
        "GET",
        "/v1/onboarding",
        claims=admin_claims("org_a") | {"cognito:groups": "[]"},
        headers={"accept-language": "zh-CN"},
    )
    assert response.status == 403
    assert response.json["error"]["localized_message"] == "您无权执行此操作。"


@pytest.mark.parametrize("header", [None, "de-DE", "not a language tag;;;"])
def test_without_a_supported_language_the_text_is_english(api, org: str, header: str | None) -> None:
    headers = {"accept-language": header} if header is not None else {}
    state = api("GET", "/v1/onboarding", headers=headers).json
    assert state["wizard_current_step_title"] == "Organization profile"
