"""`make fuzz`'s campaign: schemathesis with every check, stateless and stateful, tallied (not `make test`).

Not collected by `make test` (the name does not match `test_*.py`); `make fuzz` names this file. Each
answer is judged by every schemathesis check, including `positive_data_acceptance` (schema-valid input
must be accepted) and `negative_data_rejection` (schema-invalid input must be refused). A server error
fails the run at once; every other check failure is counted per check and operation and printed, so
that docs/security-and-reliability.md can report and explain each one.
"""

import os
import re
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis import checks
from schemathesis.core.failures import FailureGroup

from tests.test_fuzz import fuzz_org, prepare, schema, token_for

__all__ = ["fuzz_org"]  # the fixture, imported for pytest

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
STATEFUL_STEPS = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "100"))

ALL_CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.positive_data_acceptance,
    checks.missing_required_header,
    checks.unsupported_method,
    checks.ignored_auth,
    checks.use_after_free,
    checks.ensure_resource_availability,
]

calls: Counter[str] = Counter()
failures: Counter[tuple[str, str, int]] = Counter()
server_errors: Counter[str] = Counter()  # counted before the assertion fails, whatever Hypothesis does next


def judge(case: Any, response: Any, **kwargs: Any) -> None:
    calls[case.operation.label] += 1
    if response.status_code >= 500:
        server_errors[case.operation.label] += 1
    assert response.status_code < 500, (case.operation.label, response.status_code, response.text)
    try:
        case.validate_response(
            response, checks=ALL_CHECKS, headers={"Authorization": token_for(case)}, **kwargs
        )
    except FailureGroup as group:
        for failure in group.exceptions:
            title = str(getattr(failure, "title", type(failure).__name__))
            if os.environ.get("FUZZ_SHOW_BODIES") == "1":  # when looking into one kind of failure
                print(
                    f"\n{title}: {case.operation.label} {case.query} {case.body!r:.300} -> {response.text:.300}"
                )
            failures[(case.operation.label, f"{title}{refusal(response)}", response.status_code)] += 1
    except AssertionError as failure:
        failures[(case.operation.label, str(failure).splitlines()[0][:80], response.status_code)] += 1


def refusal(response: Any) -> str:
    """What the service said when it refused: its error code and the rules its 422 details name (the
    `x-rules` of the operation), so that each refusal is tallied by the reason it was given."""
    if not 400 <= response.status_code < 500:
        return ""
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return ""
    details = [detail for detail in error.get("details") or [] if isinstance(detail, dict)]
    # Each rule with the field it refused (list positions folded: body.events.*.timestamp).
    types = sorted(
        {
            f"{detail.get('type')} @ {re.sub(r'[.][0-9]+(?=[.]|$)', '.*', str(detail.get('field')))}"
            for detail in details
        }
    )
    return f" [{error.get('code')}{': ' + ', '.join(types) if types else ''}]"


def report(title: str) -> None:
    assert not server_errors, server_errors
    print(f"\n{title}: {sum(calls.values())} calls over {len(calls)} operations, 0 server errors")
    print(f"check failures: {sum(failures.values())}")
    for (label, check, status), count in sorted(failures.items()):
        print(f"  {count:5d}  {status}  {label}: {check}")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_stateless_every_check(case: Any, fuzz_org: str) -> None:
    prepare(case)
    judge(case, case.call(headers={"Authorization": token_for(case)}))


def test_stateless_report() -> None:
    report("stateless")


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": {"Authorization": token_for(case)}}

    def validate_response(
        self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
    ) -> None:
        judge(case, response)


# The stateful phase runs in rounds of this many scenarios, each a fresh Hypothesis run: Hypothesis
# stops a run whose generation it finds inconsistent on replay (`FlakyStrategyDefinition`: schemathesis'
# state machine draws from what earlier responses and the organization's changing state gave it). A
# stopped round is counted and reported; the calls it made were judged like any other.
STATEFUL_ROUND = 20


def test_stateful_every_check(fuzz_org: str) -> None:
    calls.clear()
    failures.clear()
    stopped = 0
    rounds = max(1, -(-STATEFUL_STEPS // STATEFUL_ROUND))
    for _ in range(rounds):
        try:
            Workflow.run(
                settings=settings(
                    max_examples=min(STATEFUL_ROUND, STATEFUL_STEPS),
                    database=None,
                    deadline=None,
                    stateful_step_count=6,
                    suppress_health_check=list(HealthCheck),
                )
            )
        except FlakyStrategyDefinition:
            stopped += 1
    report("stateful")
    print(
        f"rounds: {rounds} of up to {min(STATEFUL_ROUND, STATEFUL_STEPS)} scenarios, {stopped} stopped by Hypothesis' flaky-generation check"
    )
