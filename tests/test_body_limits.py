"""Each API function's request body limit (`MAX_BODY_BYTES` in template.yaml) comes from its largest
valid request, sent through the function with the environment the template gives it.

The largest valid request is measured as a client may encode it: every non-ASCII character
\\u-escaped, as Python's json module sends it by default (three times the UTF-8 size at worst). The
limit must let it through and not be much larger (at most twice, or the 1 KiB floor).
"""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from onboarding.client_metrics import MAX_BATCH_EVENTS, MAX_EVENT_DATA_BYTES
from onboarding.wizard import MAX_STEP_DATA_BYTES
from tests.fixtures import ORG, Invoke
from tests.wizard_steps import future
from tools.template import FunctionSpec, functions

FLOOR = 1024  # the smallest limit the service accepts (Settings.max_body_bytes)
API_FUNCTIONS = [spec for spec in functions().values() if spec.routes]
EMOJI = "\U0001f389"  # 4 bytes of UTF-8; 12 bytes \u-escaped (a surrogate pair)
Arrange = Callable[[Invoke], Any]


def limit_of(spec: FunctionSpec) -> int:
    return int(dict(spec.own_environment)["MAX_BODY_BYTES"])


def escaped(body: Any) -> str:
    return json.dumps(body, ensure_ascii=True, separators=(",", ":"))


def utf8_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


# --- The largest valid request of each route that takes a body ---


def _wizard_step(api: Invoke) -> tuple[str, str, Any]:
    """Step 2 filled up to the wizard's 10 KiB bound, after a short step 1 (role names of 4-byte
    characters: the most bytes per character, escaped)."""
    step_1 = {"organization_name": "Ada", "location": "1 Main St, X", "timezone": "UTC"}
    assert api("PUT", "/v1/onboarding/wizard/steps/1", body=step_1).status == 200
    body: dict[str, Any] = {
        "event_title": "Sunday Morning Service",
        "event_datetime": future(),
        "event_duration_minutes": 480,
        "role_requirements": {},
    }
    # What the step stores besides its answers (id, flags, three timestamps) and step 1's answers.
    room = MAX_STEP_DATA_BYTES - utf8_size({"step_1": step_1}) - 400
    index = 0
    while utf8_size(body) + 420 < room:
        body["role_requirements"][f"{index:02d}" + EMOJI * 98] = 1000
        index += 1
    return "PUT", "/v1/onboarding/wizard/steps/2", body


def _metrics_batch(_api: Invoke) -> tuple[str, str, Any]:
    overhead = utf8_size({"note": ""})
    note = EMOJI * ((MAX_EVENT_DATA_BYTES - overhead) // len(EMOJI.encode()))
    event = {
        "event_type": "wizard_step_viewed",
        "timestamp": datetime.now(UTC).isoformat(),
        "session_id": "s" * 50,
        "wizard_step_reached": 5,
        "step_duration_seconds": 86_400,
        "event_data": {"note": note},
    }
    assert utf8_size(event["event_data"]) > MAX_EVENT_DATA_BYTES - 4
    return (
        "POST",
        "/v1/onboarding/metrics",
        {"events": [{"event_id": str(uuid.uuid4()), **event} for _ in range(MAX_BATCH_EVENTS)]},
    )


LARGEST: dict[str, Arrange] = {
    "OnboardingFunction": _wizard_step,
    "ChecklistFunction": lambda _api: ("PUT", "/v1/onboarding/checklist/add_team", {"completed": False}),
    "TutorialsFunction": lambda _api: (
        "PUT",
        "/v1/onboarding/tutorials/solver_run/progress",
        {"steps_completed": 5},
    ),
    "MetricsFunction": _metrics_batch,
}


def test_every_api_function_declares_its_own_limit() -> None:
    assert [
        spec.logical_id for spec in API_FUNCTIONS if "MAX_BODY_BYTES" not in dict(spec.own_environment)
    ] == []


@pytest.mark.parametrize("spec", API_FUNCTIONS, ids=lambda spec: spec.logical_id)
def test_the_largest_valid_request_fits_the_limit_and_the_limit_is_not_much_larger(
    spec: FunctionSpec, api: Invoke, org: str, db: Session
) -> None:
    arrange = LARGEST.get(spec.logical_id)
    if arrange is None:  # no route takes a body
        assert limit_of(spec) == FLOOR
        return
    method, path, body = arrange(api)
    raw = escaped(body)
    response = api(method, path, raw_body=raw)
    assert 200 <= response.status < 300, response
    assert len(raw.encode()) <= limit_of(spec) <= max(2 * len(raw.encode()), FLOOR)


def test_the_largest_metrics_batch_is_the_issues_full_batch_and_more(
    api: Invoke, make_started_org: Callable[..., str]
) -> None:
    make_started_org()  # metrics are stored once onboarding has started
    # 100 events with about 1 KB of event_data each (116 KB): every event valid, the batch accepted.
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "view_reports",
            "timestamp": datetime.now(UTC).isoformat(),
            "event_data": {"note": "n" * 1000},
        }
        for _ in range(100)
    ]
    response = api("POST", "/v1/onboarding/metrics", org=ORG, body={"events": events})
    assert response.json == {"accepted": 100, "duplicates": 0}


@pytest.mark.parametrize("spec", API_FUNCTIONS, ids=lambda spec: spec.logical_id)
def test_one_byte_over_the_limit_is_413(spec: FunctionSpec, api: Invoke, org: str) -> None:
    route = spec.routes[0]
    path = (
        route.path.replace("{step}", "1")
        .replace("{task_id}", "add_team")
        .replace("{tutorial_id}", "solver_run")
    )
    raw = json.dumps({"padding": ""})
    raw += " " * (limit_of(spec) + 1 - len(raw))
    response = api(route.method, path, raw_body=raw)
    assert (response.status, response.json["error"]["code"]) == (413, "payload_too_large")
