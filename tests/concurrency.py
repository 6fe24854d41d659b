"""Run requests at the same time, each in its own process, as Lambda runs concurrent requests in
separate containers.

Not threads: Powertools keeps the current event in a class attribute (`BaseRouter.current_event`),
shared by every resolver in a process, even by freshly imported copies of a handler module, so two
requests in two threads can read each other's path and body. Each task therefore runs in a forked
child with its own database connection (the parent's pooled connections are left alone), its result
sent back to the parent; all children start their task at the same moment (a barrier).
"""

import importlib.util
import multiprocessing
import os
import traceback
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from onboarding import container

ROOT = Path(__file__).resolve().parent.parent
_FORK = multiprocessing.get_context("fork")


def fresh_handler(relative_path: str = "functions/onboarding/app.py") -> Callable[..., dict[str, Any]]:
    """The module's `lambda_handler`, from a new import of the file (a new "container")."""
    spec = importlib.util.spec_from_file_location(f"container_{uuid.uuid4().hex}", ROOT / relative_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Callable[..., dict[str, Any]] = module.lambda_handler
    return handler


class TaskFailed(AssertionError):
    """A task raised in its process; the message carries its traceback."""


def run_together[T](tasks: Sequence[Callable[[], T]], *, timeout: float = 120) -> list[T]:
    """Start all tasks at the same moment, each in its own process; their results, in order.

    Results must be picklable (numbers, dicts, pydantic models). A task that raises fails the call
    with its traceback.
    """
    barrier = _FORK.Barrier(len(tasks))
    results = _FORK.Queue()
    children = [
        _FORK.Process(target=_child, args=(index, task, barrier, results), daemon=True)
        for index, task in enumerate(tasks)
    ]
    for child in children:
        child.start()
    collected: dict[int, tuple[bool, Any]] = {}
    try:
        for _ in children:
            index, ok, value = results.get(timeout=timeout)
            collected[index] = (ok, value)
    finally:
        for child in children:
            child.join(timeout=10)
            if child.is_alive():
                child.kill()
    failures = [value for ok, value in collected.values() if not ok]
    if failures:
        raise TaskFailed(f"{len(failures)} of {len(tasks)} tasks failed; the first:\n{failures[0]}")
    return [collected[index][1] for index in range(len(tasks))]


def _child(index: int, task: Callable[[], Any], barrier: Any, results: Any) -> None:
    # The parent's pooled connections stay the parent's: drop them here without closing them.
    container.reset(close_connections=False)
    try:
        barrier.wait(timeout=60)
        results.put((index, True, task()))
    except BaseException:
        results.put((index, False, f"pid {os.getpid()}: {traceback.format_exc()}"))
