"""tests/concurrency.py: concurrent requests run in processes of their own, as in separate Lambda containers."""

import os
from functools import partial

import pytest
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from tests.concurrency import TaskFailed, fresh_handler, run_together
from tools.lambda_events import http_api_event, local_context


def test_two_handler_copies_in_one_process_share_the_current_event(database_url) -> None:
    # Why tasks do not run in threads: Powertools keeps the event on the class, not on the resolver.
    first, second = fresh_handler(), fresh_handler()
    first(http_api_event("GET", "/v1/onboarding/nowhere"), local_context())
    second(http_api_event("GET", "/v1/onboarding/elsewhere"), local_context())
    assert BaseRouter.current_event.path == "/v1/onboarding/elsewhere"


def test_tasks_run_in_processes_of_their_own_and_answer_in_order() -> None:
    def task(n: int) -> tuple[int, int]:
        return n, os.getpid()

    results = run_together([partial(task, n) for n in range(6)])
    assert [n for n, _ in results] == list(range(6))
    assert len({pid for _, pid in results} | {os.getpid()}) == 7


def test_a_failing_task_fails_the_run_with_its_traceback() -> None:
    def fail() -> None:
        raise ValueError("boom in a child")

    with pytest.raises(TaskFailed, match="boom in a child"):
        run_together([fail, lambda: None])
