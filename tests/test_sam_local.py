"""`sam local invoke --env-vars env.json` gives every function what the local path needs.

SAM CLI's own environment resolution (tools/sam_env.py, in .venv-sam) runs on template.yaml with and
without the committed env.json; the service's settings are then loaded from exactly what a function
would see. Docker is not needed for any of it. samconfig.toml's deploy defaults are checked here too.
"""

import json
import os
import tomllib
from typing import Any

import pytest

from onboarding.settings import Settings, get_settings
from tools.sam_env import resolve_environment_variants
from tools.template import ROOT, TEMPLATE, functions

ENV_JSON = ROOT / "env.json"
LOCAL_ONLY = ("DATABASE_URL", "DB_TLS")


@pytest.fixture(scope="module")
def environments() -> dict[str, dict[str, dict[str, str]]]:
    with_env_json, without = resolve_environment_variants(TEMPLATE, [ENV_JSON, None])
    return {"env.json": with_env_json, "none": without}


def settings_seen_by(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The service's settings in a process started with exactly `environment`."""
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        return get_settings()
    finally:
        get_settings.cache_clear()


def test_sam_cli_resolves_an_environment_for_every_function_of_the_template(environments: Any) -> None:
    assert set(environments["env.json"]) == set(functions())


def test_every_function_gets_the_local_database_and_tls_setting_from_env_json(environments: Any) -> None:
    parameters = json.loads(ENV_JSON.read_text())["Parameters"]
    for name, environment in environments["env.json"].items():
        assert {key: environment[key] for key in LOCAL_ONLY} == {
            key: parameters[key] for key in LOCAL_ONLY
        }, name


def test_every_variable_env_json_sets_is_declared_for_the_functions_it_targets(environments: Any) -> None:
    # SAM CLI silently drops a variable the template does not declare: each one here must arrive.
    env_json = json.loads(ENV_JSON.read_text())
    for target, variables in env_json.items():
        names = list(environments["env.json"]) if target == "Parameters" else [target]
        for name in names:
            environment = environments["env.json"][name]
            assert {key: environment.get(key) for key in variables} == variables, name


def test_with_env_json_the_service_connects_to_the_local_database_without_tls_and_no_event_bus(
    environments: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_seen_by(environments["env.json"]["OnboardingFunction"], monkeypatch)
    assert settings.database_url == json.loads(ENV_JSON.read_text())["Parameters"]["DATABASE_URL"]
    assert settings.db_tls == "disable"
    assert settings.event_bus_name is None  # events wait in the outbox; nothing reaches a real bus
    assert settings.db_secret_arn is None


def test_the_organization_created_consumer_parks_nothing_in_a_real_queue_locally(
    environments: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_seen_by(environments["env.json"]["OrganizationCreatedFunction"], monkeypatch)
    assert settings.dead_letter_queue_url is None


def test_the_local_only_variables_are_declared_empty_and_change_nothing_without_env_json(
    environments: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, environment in environments["none"].items():
        assert {key: environment[key] for key in LOCAL_ONLY} == {"DATABASE_URL": "", "DB_TLS": ""}, name
    settings = settings_seen_by(environments["none"]["OnboardingFunction"], monkeypatch)
    assert settings.database_url is None
    assert settings.db_tls == "verify"


def test_samconfig_deploys_with_iam_capability_a_managed_bucket_and_a_change_set_per_environment() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    for environment in ("default", "staging", "prod"):
        deploy = config[environment]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM", environment
        assert deploy["resolve_s3"] is True, environment
        assert isinstance(deploy["confirm_changeset"], bool), environment
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
    stacks = {config[env]["deploy"]["parameters"].get("stack_name") for env in ("staging", "prod")}
    assert len(stacks | {config["default"]["global"]["parameters"]["stack_name"]}) == 3
    assert config["default"]["local_invoke"]["parameters"]["env_vars"] == "env.json"
