"""3. Cold start: each function's handler import vs. its dependencies alone, in fresh interpreters."""

from bench import cold_start
from bench.context import BenchContext, Section
from tools.template import functions


def run(ctx: BenchContext) -> Section:
    rows = [
        cold_start.measure(spec, runs=ctx.scale.cold_runs)
        for spec in functions().values()
        if spec.code_exists
    ]
    return Section(
        "3. Cold start: handler import vs. its dependencies alone (fresh interpreters)",
        rows,
        summary={
            "worst_ratio": max(row["ratio"] for row in rows),
            "functions_importing_boto3": [row["function"] for row in rows if row["boto3_imported"]],
            "all_met": all(row["met"] for row in rows),
            "runs_per_side": ctx.scale.cold_runs,
        },
        notes=[
            "ratio: import time of the handler module / import time of only the third-party modules it "
            "loads, each in a fresh interpreter (bytecode cached), best of the runs on each side.",
            "largest_imports_ms: top-level packages by cumulative time in `python -X importtime`.",
        ],
    )
