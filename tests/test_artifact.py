"""What `sam build` produces is what is tested: the locked layer, its bytecode, and a whole client
journey through handlers loaded from .aws-sam/build, never from the source tree.

Each function runs in its own fresh interpreter (tools/lambda_runner.py, `python -S`: no
site-packages) with Lambda's path order (the function's build directory, then the layer's python/),
PYTHONDONTWRITEBYTECODE=1, no internet, and the environment SAM CLI resolves for it from the built
template (Globals + the function's variables, with DATABASE_URL and DB_TLS supplied for the test
database as env.json supplies them). `make test` builds first; run alone, the build is refreshed here
when the source changed (`sam build --cached`, .venv-sam needed).
"""

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from onboarding.models import OnboardingState, OutboxEvent
from tools import build_check, lock
from tools.artifact import (
    HOST_MACHINE,
    BuiltArtifact,
    FunctionProcess,
    snapshot,
    stand_in_note,
)
from tools.lambda_events import http_api_event
from tools.sam_env import resolve_environments
from tools.template import SHARED_LAYER_DIR
from tools.wizard_events import step_body

ORG = "org_journey"
ADMIN = {"custom:org_id": ORG, "cognito:groups": "[org_admin]"}  # as the JWT authorizer flattens it
ANALYST = {"cognito:groups": "[platform_analyst]"}
JOURNEY_FUNCTIONS = (
    "OnboardingFunction",
    "ChecklistFunction",
    "TutorialsFunction",
    "MetricsFunction",
    "AnalyticsFunction",
    "ExportFunction",
    "PurgeFunction",
)


@pytest.fixture(scope="session")
def artifact() -> BuiltArtifact:
    try:
        return build_check.fresh_artifact()  # `make test` built it; run alone, build when stale
    except SystemExit as error:
        pytest.fail(str(error))


def test_the_built_layer_holds_exactly_the_locked_versions(artifact: BuiltArtifact) -> None:
    installed = lock.installed_versions(artifact.layer_python)
    assert lock.differences(lock.locked_versions(lock.LAMBDA_ARM64), installed, extra_allowed=False) == []


def test_every_module_of_the_artifact_ships_with_its_bytecode(artifact: BuiltArtifact) -> None:
    roots = [artifact.layer_python, *(spec.code_uri for spec in artifact.functions.values())]
    assert {str(root): build_check.missing_bytecode(root) for root in roots} == {
        str(root): [] for root in roots
    }


class Journey:
    """The built functions as warm containers, called the way API Gateway and the Scheduler call them."""

    def __init__(self, processes: dict[str, FunctionProcess]) -> None:
        self.processes = processes

    def http(
        self, function: str, method: str, path: str, *, claims: dict[str, Any] = ADMIN, **kwargs: Any
    ) -> Any:
        event = http_api_event(method, path, claims=claims, **kwargs)
        response = self.processes[function].invoke(event)
        return response["statusCode"], _json(response.get("body"))


def _json(body: str | None) -> Any:
    return json.loads(body) if body else None


@pytest.fixture
def journey(artifact: BuiltArtifact, database_url: str) -> Iterator[Journey]:
    # The environment `sam local invoke --env-vars` would give each function, for the test database.
    local = {"Parameters": {"DATABASE_URL": database_url, "DB_TLS": "disable", "EVENT_BUS_NAME": ""}}
    environments = resolve_environments(artifact.build_dir / "template.yaml", local)
    layer = artifact.runnable_layer()
    processes = {
        name: FunctionProcess(artifact.functions[name], artifact.pythonpath(artifact.functions[name], layer),
                              environments[name])
        for name in JOURNEY_FUNCTIONS
    }  # fmt: skip
    try:
        yield Journey(processes)
    finally:
        for process in processes.values():
            process.kill()


def test_a_client_journey_runs_on_the_built_artifact(
    artifact: BuiltArtifact, journey: Journey, make_org: Callable[..., str], db: Session
) -> None:
    make_org(ORG)
    before = snapshot(artifact.build_dir)

    # Every function imports from the build output only, its `onboarding` the built layer's.
    for name, process in journey.processes.items():
        startup = process.ready()
        assert startup["strays"] == [], name
        assert Path(startup["onboarding_file"]).is_relative_to(artifact.runnable_layer()), name
        assert not Path(startup["onboarding_file"]).is_relative_to(SHARED_LAYER_DIR), name
        assert startup["without_bytecode"] == [], name

    assert journey.http("OnboardingFunction", "POST", "/v1/onboarding")[0] == 201
    for step in range(1, 6):
        status, state = journey.http("OnboardingFunction", "PUT", f"/v1/onboarding/wizard/steps/{step}",
                                     body=step_body(step))  # fmt: skip
        assert status == 200, state
    assert state["wizard_completed"] is True

    status, sample = journey.http("OnboardingFunction", "POST", "/v1/onboarding/sample-data",
                                  body={"size": "minimal", "expiry_days": 30})  # fmt: skip
    assert status == 201, sample

    status, checklist = journey.http("ChecklistFunction", "GET", "/v1/onboarding/checklist")
    assert status == 200
    assert len(checklist["tasks"]) == 6

    for method, suffix, body in [("POST", "views", None), ("PUT", "progress", {"steps_completed": 1}),
                                 ("POST", "complete", None)]:  # fmt: skip
        status, tutorial = journey.http("TutorialsFunction", method, f"/v1/onboarding/tutorials/events_intro/{suffix}",
                                        body=body)  # fmt: skip
        assert status == 200, tutorial
    assert tutorial["status"] == "completed"

    now = datetime.now(UTC)
    batch = {"events": [{"event_id": str(uuid.uuid4()), "event_type": "wizard_step_viewed",
                         "timestamp": now.isoformat(), "wizard_step_reached": 2, "step_duration_seconds": 30,
                         "session_id": uuid.uuid4().hex, "event_data": {"entry_point": "signup_flow"}}]}  # fmt: skip
    status, ingested = journey.http("MetricsFunction", "POST", "/v1/onboarding/metrics", body=batch)
    assert status in (200, 202), ingested
    assert ingested["accepted"] == 1

    status, funnel = journey.http("AnalyticsFunction", "GET", "/v1/analytics/funnel", claims=ANALYST,
                                  query={"from": (now - timedelta(days=1)).date().isoformat()})  # fmt: skip
    assert status == 200, funnel

    status, export = journey.http("ExportFunction", "GET", "/v1/onboarding/export")
    assert status == 200, export
    assert export["organization_id"] == ORG
    assert export["onboarding_state"]["wizard_completed"] is True
    assert [tutorial["tutorial_id"] for tutorial in export["tutorials"]] == ["events_intro"]

    # Thirty-one days later (the sample data expired), the nightly purge removes it.
    db.execute(update(OnboardingState).where(OnboardingState.organization_id == ORG)
               .values(sample_data_expiry=now - timedelta(minutes=1)))  # fmt: skip
    db.commit()
    scheduled = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                 "source": "aws.scheduler", "account": "123456789012", "time": now.isoformat(),
                 "region": "us-east-1", "resources": [], "detail": {"attempt_number": "0"}}  # fmt: skip
    report = journey.processes["PurgeFunction"].invoke(scheduled)
    assert report["organizations_purged"] == 1
    status, sample = journey.http("OnboardingFunction", "GET", "/v1/onboarding/sample-data")
    assert status == 200
    assert (sample["present"], sample["cleared"]) == (False, True)

    # No event bus locally: the domain events wait in the outbox, none was lost.
    assert db.query(OutboxEvent).filter_by(organization_id=ORG).count() >= 3

    # Read-only file systems: nothing was written into the build output, every module was bytecode.
    for name, process in journey.processes.items():
        done = process.close()
        assert done["without_bytecode"] == [], name
        assert done["strays"] == [], name
    assert snapshot(artifact.build_dir) == before


def test_the_catch_all_function_answers_from_the_build_alone(artifact: BuiltArtifact) -> None:
    # No database and no AWS: the environment of the built template is all it gets.
    environments = resolve_environments(artifact.build_dir / "template.yaml", {"Parameters": {}})
    spec = artifact.functions["CatchAllFunction"]
    process = FunctionProcess(spec, artifact.pythonpath(spec, artifact.runnable_layer()),
                              environments["CatchAllFunction"])  # fmt: skip
    try:
        startup = process.ready()
        assert startup["strays"] == []
        assert startup["without_bytecode"] == []
        assert Path(startup["onboarding_file"]).is_relative_to(artifact.runnable_layer())
        assert startup["modules_from_artifact"] <= 6  # app, onboarding, unrouted, errors, i18n, routes
        answer = process.invoke(http_api_event("TRACE", "/v1/onboarding/checklist", claims=ADMIN))
        assert (answer["statusCode"], answer["headers"]["Allow"]) == (405, "GET")
        assert json.loads(answer["body"])["error"]["code"] == "method_not_allowed"
        answer = process.invoke(http_api_event("GET", "/v1/nowhere", claims=ADMIN))
        assert (answer["statusCode"], json.loads(answer["body"])["error"]["code"]) == (404, "route_not_found")
    finally:
        process.kill()


def test_results_on_this_machine_say_when_host_extensions_stand_in(artifact: BuiltArtifact) -> None:
    note = stand_in_note(artifact.layer_python)
    if HOST_MACHINE == "aarch64":
        assert note is None
    else:
        assert note is not None and HOST_MACHINE in note
