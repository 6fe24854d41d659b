"""The API's routes, as template.yaml declares them (tests/test_template.py holds the two equal).

Each function's resolver knows only its own routes; answering a request that no route matches needs
all of them: a path that exists under other methods is a 405 listing them (`Allow`), anything else a
404. API Gateway sends such requests to the catch-all routes (`$default`, `OPTIONS /{proxy+}`).
"""

import re
from functools import cache
from typing import Final

ROUTES: Final[tuple[tuple[str, str], ...]] = (
    ("POST", "/v1/onboarding"),
    ("GET", "/v1/onboarding"),
    ("PUT", "/v1/onboarding/wizard/steps/{step}"),
    ("POST", "/v1/onboarding/wizard/skip"),
    ("PUT", "/v1/onboarding/preferences"),
    ("POST", "/v1/onboarding/sample-data"),
    ("GET", "/v1/onboarding/sample-data"),
    ("DELETE", "/v1/onboarding/sample-data"),
    ("POST", "/v1/onboarding/sample-data/extend"),
    ("GET", "/v1/onboarding/checklist"),
    ("PUT", "/v1/onboarding/checklist/{task_id}"),
    ("GET", "/v1/onboarding/tutorials"),
    ("POST", "/v1/onboarding/tutorials/{tutorial_id}/views"),
    ("PUT", "/v1/onboarding/tutorials/{tutorial_id}/progress"),
    ("POST", "/v1/onboarding/tutorials/{tutorial_id}/complete"),
    ("POST", "/v1/onboarding/tutorials/{tutorial_id}/skip"),
    ("POST", "/v1/onboarding/metrics"),
    ("GET", "/v1/onboarding/export"),
    ("GET", "/v1/analytics/funnel"),
    ("GET", "/v1/analytics/completion-time"),
    ("GET", "/v1/analytics/incomplete"),
    ("GET", "/v1/analytics/completion-rate"),
    ("GET", "/v1/analytics/experiments"),
)
_METHOD_ORDER: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")


@cache
def _pattern(path: str) -> re.Pattern[str]:
    # A path parameter matches one segment, as in API Gateway.
    return re.compile(
        "".join("[^/]+" if piece.startswith("{") else re.escape(piece) for piece in _pieces(path))
    )


def _pieces(path: str) -> list[str]:
    return [piece for piece in re.split(r"(\{[^/{}]+\})", path) if piece]


def allowed_methods(path: str) -> list[str]:
    """The methods the API routes for `path` (none: no route has this path)."""
    methods = {method for method, template in ROUTES if _pattern(template).fullmatch(path)}
    return sorted(methods, key=_METHOD_ORDER.index)
