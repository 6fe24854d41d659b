"""3. Cold start of the built artifact: each function's handler import vs. its dependencies alone and vs.
the same artifact without bytecode, in fresh interpreters with Lambda's path order (bench/cold_start.py)."""

from bench import cold_start
from bench.context import BenchContext, Section


def run(ctx: BenchContext) -> Section:
    rows, summary, notes = cold_start.measure_all(runs=ctx.scale.cold_runs)
    return Section(
        "3. Cold start of the built artifact: handler import vs. its dependencies alone and vs. no bytecode",
        rows,
        summary=summary,
        notes=notes,
    )
