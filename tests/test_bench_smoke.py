"""`make bench` keeps working: its quick mode, one section, on the test suite's PostgreSQL server.

Not a timed test: it checks that the benchmark runs and writes its results, never how fast anything is.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_benchmark_runs_in_quick_mode_and_writes_its_results(server_url: str, tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'layers' / 'shared'}{os.pathsep}{ROOT}"}
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "bench.run", "--quick", "--only", "round_trips"]
    completed = subprocess.run(
        [*command, "--server-url", server_url, "--output", str(output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    results = json.loads(output.read_text())
    section = results["sections"]["round_trips"]
    assert section["summary"]["routes_missing"] == []
    assert "| GET /v1/onboarding/checklist" in completed.stdout
