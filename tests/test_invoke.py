"""The in-process runner (`make invoke`): picks the function from template.yaml and prints its answer."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.models import OnboardingState
from tools import invoke as runner
from tools.lambda_events import EVENTS_DIR, http_api_event
from tools.template import ROOT


def write(tmp_path: Path, name: str, event: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(event))
    return path


def test_an_http_event_goes_to_the_function_of_its_route() -> None:
    event = http_api_event("PUT", "/v1/onboarding/tutorials/calendar_basics/progress", body={})
    assert runner.resolve_function(event).logical_id == "TutorialsFunction"


def test_a_named_function_must_be_the_one_the_route_belongs_to() -> None:
    event = http_api_event("GET", "/v1/onboarding/checklist")
    with pytest.raises(runner.UsageError, match="routed to ChecklistFunction, not OnboardingFunction"):
        runner.resolve_function(event, logical_id="OnboardingFunction")


def test_an_http_event_no_route_takes_goes_to_the_catch_all_as_in_api_gateway() -> None:
    # `$default` takes any path and method; an OPTIONS request the greedy OPTIONS /{proxy+} route.
    for method, path in [("GET", "/v1/nowhere"), ("TRACE", "/v1/onboarding"), ("OPTIONS", "/v1/onboarding")]:
        assert runner.resolve_function(http_api_event(method, path)).logical_id == "CatchAllFunction"


def test_other_events_go_to_the_function_named_by_the_file_prefix() -> None:
    event = json.loads((EVENTS_DIR / "purge_scheduled.json").read_text())
    assert runner.resolve_function(event, event_file=EVENTS_DIR / "purge_scheduled.json").logical_id == (
        "PurgeFunction"
    )


@pytest.mark.parametrize(
    ("file_name", "logical_id"),
    [
        ("organization_created.json", "OrganizationCreatedFunction"),
        ("outbox_publisher_scheduled.json", "OutboxPublisherFunction"),
        ("migrations_status.json", "MigrationsFunction"),
    ],
)
def test_the_longest_code_directory_prefix_names_the_function(file_name: str, logical_id: str) -> None:
    assert runner.resolve_function({}, event_file=Path(file_name)).logical_id == logical_id


def test_other_events_without_a_known_prefix_need_a_function_name(tmp_path: Path) -> None:
    with pytest.raises(runner.UsageError, match="FN=<LogicalId>"):
        runner.resolve_function({"action": "status"}, event_file=tmp_path / "custom.json")
    assert runner.resolve_function({}, logical_id="MigrationsFunction").logical_id == "MigrationsFunction"


def test_main_prepares_the_database_invokes_the_handler_and_prints_the_answer(
    database_url, db: Session, capsys
) -> None:
    # No organization arranged: the runner creates the demo organization the event files act for.
    assert runner.main([str(EVENTS_DIR / "onboarding_start.json")]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["statusCode"] == 201
    assert json.loads(answer["body"])["organization_id"] == "org_demo"
    assert db.scalars(select(OnboardingState.organization_id)).all() == ["org_demo"]


def test_main_reports_a_function_error_like_lambda(database_url, tmp_path: Path, capsys) -> None:
    event_file = write(tmp_path, "bad.json", {"action": "downgrade"})
    assert runner.main(["--function", "MigrationsFunction", str(event_file)]) == 1
    error = json.loads(capsys.readouterr().out)
    assert error["errorType"] == "ValueError"
    assert "unknown action 'downgrade'" in error["errorMessage"]


def test_main_refuses_a_mismatched_function_before_touching_the_database(tmp_path: Path, capsys) -> None:
    event_file = write(tmp_path, "checklist.json", http_api_event("GET", "/v1/onboarding/checklist"))
    assert runner.main(["--function", "ExportFunction", str(event_file)]) == 2
    assert "routed to ChecklistFunction" in capsys.readouterr().err


def test_the_answer_goes_to_stdout_and_the_functions_logs_to_stderr(database_url) -> None:
    # A separate process, as from the shell: its logger writes to the real stdout unless redirected.
    env = {**os.environ, "DATABASE_URL": database_url, "POWERTOOLS_LOG_LEVEL": "INFO"}
    result = subprocess.run(
        [sys.executable, "-m", "tools.invoke", str(EVENTS_DIR / "migrations_status.json")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(result.stdout)["action"] == "status"
    assert '"message":"migrations done"' in result.stderr
