"""Run the benchmark: `make bench` (or `python -m bench.run [--quick] [--only SECTION ...]`).

Starts its own embedded PostgreSQL (data in .local/bench-pg, separate from the development and test
servers) unless `--server-url` names one, gives each section a fresh migrated database, prints one
table per section and writes the results as JSON. A full run (all sections, full scale) writes
bench/results/latest.json and the results block of bench/README.md; other runs write
bench/results/partial.json unless `--output` says otherwise. Never fails on speed: the exit code is 0
when every section ran, whatever the figures (the "met" columns say how they compare with the targets).
"""

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# This checkout's shared layer first (the virtualenv may hold an installed copy of another one).
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT)]

# The service's settings for the run (before any handler is imported): Powertools quiet, a region.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "onboarding-bench")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "SignUpFlowOnboardingBench")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no EMF lines on stdout from the purge
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# The metric ingest's scenario sends every batch for one organization: section 9 at full scale sends it
# ~100 000 events (16 variants x 600 calls x 10 events), over the default daily cap of 10 000 (a 429).
# The cap is a bound value of the same statement: raising it changes no work the request does.
os.environ.setdefault("METRIC_DAILY_QUOTA", "10000000")

from bench.context import FULL, QUICK, BenchContext, Section  # noqa: E402
from bench.sections import SECTIONS  # noqa: E402
from tools.local_db import embedded_server_url, start_embedded_postgres  # noqa: E402

BENCH_DATA_DIR = ROOT / ".local" / "bench-pg"
RESULTS_DIR = ROOT / "bench" / "results"
LATEST = RESULTS_DIR / "latest.json"
PARTIAL = RESULTS_DIR / "partial.json"
README = ROOT / "bench" / "README.md"
README_START = "<!-- results:start (written by `make bench`) -->"
README_END = "<!-- results:end -->"
HIDDEN_COLUMNS = {"sql"}  # kept in the JSON, too long for a table


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    scale = QUICK if args.quick else FULL
    if args.migration_rows:
        scale = dataclasses.replace(scale, migration_rows=tuple(args.migration_rows))
    if args.analytics_rows:
        scale = dataclasses.replace(scale, analytics_rows=args.analytics_rows)
    if args.calls:
        scale = dataclasses.replace(scale, calls=args.calls)
    names = list(args.only or SECTIONS)
    full_run = not args.quick and not args.only
    output = Path(args.output) if args.output else LATEST if full_run else PARTIAL
    server_url = args.server_url or embedded_server_url(start_embedded_postgres(BENCH_DATA_DIR))
    context = BenchContext(server_url, scale)
    context.cpu_changes = tuple(args.changes or ())
    started = time.perf_counter()
    results: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])]).strip(),
        "scale": "quick" if args.quick else "full",
        "machine": _machine(),
        "sections": {},
    }
    failures = 0
    for name in names:
        print(f"\n... {name}", file=sys.stderr, flush=True)
        section_started = time.perf_counter()
        try:
            section = SECTIONS[name](context)
        except Exception:
            failures += 1
            traceback.print_exc()
            results["sections"][name] = {"error": traceback.format_exc(limit=5)}
            continue
        if "postgresql" not in results["machine"] and context._url is not None:
            results["machine"]["postgresql"] = context.server_version()
        print(render_section(section))
        results["sections"][name] = {
            "title": section.title,
            "seconds": round(time.perf_counter() - section_started, 1),
            "summary": section.summary,
            "rows": section.rows,
            "notes": section.notes,
        }
    if not args.keep_databases:
        context.drop_databases()
    results["seconds"] = round(time.perf_counter() - started, 1)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}", file=sys.stderr)
    if full_run and not failures:
        write_readme(results)
        print(f"updated {README.relative_to(ROOT)}", file=sys.stderr)
    return 1 if failures else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny scale: checks that everything runs")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), metavar="SECTION",
                        help=f"run only these sections ({', '.join(SECTIONS)})")  # fmt: skip
    parser.add_argument("--migration-rows", nargs="+", type=int, metavar="ROWS",
                        help="metric rows for the partitioning section (default: 1 M and 10 M)")  # fmt: skip
    parser.add_argument("--analytics-rows", type=int, metavar="ROWS",
                        help="metric rows for the analytics section, 20 per organization "
                        "(default: 10 M; 1 M is issue 16's 50 000 organizations)")  # fmt: skip
    parser.add_argument(
        "--calls", type=int, help="timed calls per route (latency, cpu: split over the two sides)"
    )
    parser.add_argument("--changes", nargs="+", metavar="CHANGE",
                        help="cpu: only these changes (names in bench/sections/cpu.py)")  # fmt: skip
    parser.add_argument("--output", help="where to write the JSON results")
    parser.add_argument("--server-url", help="a PostgreSQL server URL to use instead of the embedded one")
    parser.add_argument("--keep-databases", action="store_true", help="keep the bench_* databases")
    return parser


def _machine() -> dict[str, Any]:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.lower().startswith(("model name", "cpu model")):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cores": os.cpu_count(),
        "cpu": cpu or platform.processor() or platform.machine(),
        "arch": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average_at_start": [round(value, 2) for value in load] if load else None,
    }


# --- Rendering ---


def render_section(section: Section) -> str:
    lines = [f"### {section.title}", "", markdown_table(section.rows), ""]
    if section.summary:
        lines.append(
            "Summary: " + "; ".join(f"{key} = {_format(value)}" for key, value in section.summary.items())
        )
        lines.append("")
    lines.extend(f"- {note}" for note in section.notes)
    return "\n".join(lines).rstrip() + "\n"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)"
    columns = [column for column in rows[0] if column not in HIDDEN_COLUMNS]
    cells = [[_format(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    header = "| " + " | ".join(column.ljust(widths[i]) for i, column in enumerate(columns)) + " |"
    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    body = ["| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) + " |" for line in cells]
    return "\n".join([header, rule, *body])


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, dict):
        return ", ".join(f"{key} {_format(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(_format(item) for item in value) or "none"
    return str(value).replace("|", "\\|")


def render_results(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        f"Run {results['generated_at']} (`{results['command']}`, {results['seconds']} s) on "
        f"{machine['cores']} cores ({machine['cpu']}, {machine['arch']}), {machine['os']}, "
        f"Python {machine['python']}, PostgreSQL {machine.get('postgresql', '?')} (embedded, Unix "
        f"socket); load average at start {machine['load_average_at_start']}. The machine is shared "
        "with other work: read ratios and counts, not absolute times.",
        "",
    ]
    for section in results["sections"].values():
        if "error" in section:
            continue
        rendered = Section(section["title"], section["rows"], section["summary"], section["notes"])
        lines.append(render_section(rendered))
    return "\n".join(lines)


def write_readme(results: dict[str, Any]) -> None:
    text = README.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{README} has no results block ({README_START} ... {README_END})")
    before, rest = text.split(README_START, 1)
    _old, after = rest.split(README_END, 1)
    README.write_text(f"{before}{README_START}\n{render_results(results)}\n{README_END}{after}")


if __name__ == "__main__":
    sys.exit(main())
