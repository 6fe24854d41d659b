"""Where a function's own import work goes: in the built artifact, a fresh `python -S` (Lambda's path
and environment, as `bench.cold_start` runs it) first imports the third-party modules the handler loads
(the floor, untimed), then imports the service's modules in groups, timing each group; the handler
module (`app`) comes last. Best and median of n runs per group.

Used for issue 16's question whether the sample-data routes should leave the Onboarding function:
the groups below separate what those routes alone import (`sample_clearing`, `sample_data`) from what
the wizard and state routes need anyway. `wizard` imports `sample_data` (the overview carries the
sample-data status), so `sample_data` is timed before it.

    make build
    .venv/bin/python -m bench.own_imports [--function OnboardingFunction]
"""

import argparse
import json
import statistics

from bench.cold_start import _CHILD_HANDLER, OWN_TOP_LEVEL, Target, _json
from tools.build_check import fresh_artifact

_STATE_AND_WIZARD = [
    "api",
    "auth",
    "start",
    "started",
    "state",
    "checklist",
    "errors",
    "field_errors",
    "measured",
    "drafts",
    "wizard_rows",
    "domain_events",
    "outbox",
    "validation",
]
ONBOARDING_GROUPS: list[list[str]] = [
    [f"onboarding.{name}" for name in _STATE_AND_WIZARD],
    ["onboarding.sample_clearing"],
    ["onboarding.sample_data"],
    ["onboarding.wizard"],
    ["app"],
]

_CHILD_GROUPS = """
import sys, time, json, importlib
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception:
        pass
timings = []
for group in json.loads(sys.argv[2]):
    started = time.perf_counter()
    for name in group:
        importlib.import_module(name)
    timings.append((time.perf_counter() - started) * 1000)
print(json.dumps({"ms": timings}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--function", default="OnboardingFunction")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    artifact = fresh_artifact()
    spec = artifact.functions[args.function]
    target = Target(spec, spec.code_uri, artifact.runnable_layer())
    handler_code = _CHILD_HANDLER.replace("MODULE", spec.handler_module).replace(
        "OWN", repr(set(OWN_TOP_LEVEL))
    )
    floor = json.dumps(_json(target.run(handler_code))["modules"])
    groups = ONBOARDING_GROUPS if args.function == "OnboardingFunction" else [[spec.handler_module]]
    runs = [_json(target.run(_CHILD_GROUPS, floor, json.dumps(groups)))["ms"] for _ in range(args.runs)]
    for index, group in enumerate(groups):
        values = [run[index] for run in runs]
        label = group[0] if len(group) == 1 else f"{len(group)} modules ({', '.join(group[:3])}, ...)"
        print(f"{label:<70} best {min(values):6.2f} ms  median {statistics.median(values):6.2f} ms")
    totals = [sum(run) for run in runs]
    print(f"{'all own modules':<70} best {min(totals):6.2f} ms  median {statistics.median(totals):6.2f} ms")


if __name__ == "__main__":
    main()
