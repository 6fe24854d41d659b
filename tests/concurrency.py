"""Run requests at the same time, each through its own copy of a Lambda function.

Lambda never runs two invocations in one process: concurrent requests arrive in separate containers,
each with its own module state (the Powertools resolver keeps the current event on the app object).
Each thread therefore gets a freshly imported handler module; they share the database.
"""

import importlib.util
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def fresh_handler(relative_path: str = "functions/onboarding/app.py") -> Callable[..., dict[str, Any]]:
    """The module's `lambda_handler`, from a new import of the file (a new "container")."""
    spec = importlib.util.spec_from_file_location(f"container_{uuid.uuid4().hex}", ROOT / relative_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Callable[..., dict[str, Any]] = module.lambda_handler
    return handler


def run_together[T](tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Start all tasks at the same moment (a barrier), wait for all, return their results in order."""
    barrier = threading.Barrier(len(tasks))

    def run(task: Callable[[], T]) -> T:
        barrier.wait(timeout=30)
        return task()

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        futures = [pool.submit(run, task) for task in tasks]
        return [future.result(timeout=60) for future in futures]
