"""Nothing a client can put in a request body yields a 500: malformed JSON is 400, bad values 422."""

import pytest

from functions.checklist.app import lambda_handler as checklist_handler
from functions.metrics.app import lambda_handler as metrics_handler
from functions.tutorials.app import lambda_handler as tutorials_handler
from tests.fixtures import admin_claims
from tools.template import find_route, function_environment

ROUTES = [
    (checklist_handler, "PUT", "/v1/onboarding/checklist/add_team"),
    (tutorials_handler, "PUT", "/v1/onboarding/tutorials/events_intro/progress"),
    (metrics_handler, "POST", "/v1/onboarding/metrics"),
]
ROUTE_IDS = ["checklist", "tutorial-progress", "metrics"]


@pytest.mark.parametrize(("handler", "method", "path"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize(
    "raw",
    [
        "[" * 30_000 + "]" * 30_000,  # nesting that overflows the parser's recursion
        '{"value": ' + "1" * 5000 + "}",  # an integer over Python's 4300-digit limit
        '{"value": NaN}',
        '{"value": Infinity}',
        "{not json",
        '{"a": 1}\x00',
    ],
    ids=["deep-nesting", "huge-integer", "nan", "infinity", "garbage", "trailing-nul"],
)
def test_malformed_json_is_400(call, org, handler, method, path, raw: str) -> None:
    response = call(handler)(method, path, raw_body=raw, claims=admin_claims(org))
    if len(raw.encode()) > body_limit(method, path):  # a function whose largest request is tiny
        assert response.status == 413
        return
    assert response.status == 400
    assert response.json["error"]["code"] == "malformed_request"


def body_limit(method: str, path: str) -> int:
    found = find_route(method, path)
    assert found is not None
    return int(function_environment(found[0].function)["MAX_BODY_BYTES"])


@pytest.mark.parametrize(("handler", "method", "path"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize(
    "raw",
    ["null", "[]", '"text"', "42", '{"\\u0000": 1}', '{"completed": "\\ud800"}', '{"events": "\\u0000"}', ""],
)
def test_well_formed_but_wrong_bodies_are_422(call, org, handler, method, path, raw: str) -> None:
    response = call(handler)(method, path, raw_body=raw, claims=admin_claims(org))
    assert response.status == 422
    assert response.json["error"]["code"] == "validation_error"
