"""What a Lambda container keeps between invocations, and the one way to forget it.

Settings, the database engine and its session factory, and the AWS clients are built on first use
(never at import: cold starts stay cheap) by functions marked `@per_container`, then reused by every
invocation the container serves. `reset()` forgets all of them at once, so the next use builds them
again from the environment: tests and benchmarks call it after pointing the environment at another
database, bus or queue, and a forked child calls it to get its own connections.
"""

# Annotations stay unevaluated: functools._lru_cache_wrapper is not subscriptable at run time.
from __future__ import annotations

import sys
from collections.abc import Callable
from functools import _lru_cache_wrapper, cache
from typing import Any, overload

# Each cached builder, with what to do with the object it built when the container is reset.
_REGISTERED: list[tuple[_lru_cache_wrapper[Any], Callable[[Any, bool], None] | None]] = []


@overload
def per_container[T](builder: Callable[..., T], /) -> _lru_cache_wrapper[T]: ...


@overload
def per_container[T](
    *, on_reset: Callable[[T, bool], None]
) -> Callable[[Callable[..., T]], _lru_cache_wrapper[T]]: ...


def per_container[T](
    builder: Callable[..., T] | None = None, /, *, on_reset: Callable[[T, bool], None] | None = None
) -> _lru_cache_wrapper[T] | Callable[[Callable[..., T]], _lru_cache_wrapper[T]]:
    """Cache a builder for the container's lifetime (`functools.cache`) and register it for `reset()`.

    `@per_container(on_reset=...)`: `on_reset(built, close_connections)` releases what a zero-argument
    builder built (an engine's pooled connections) before it is forgotten.
    """

    def register(function: Callable[..., T]) -> _lru_cache_wrapper[T]:
        cached = cache(function)
        _REGISTERED.append((cached, on_reset))
        return cached

    return register if builder is None else register(builder)


def reset(*, close_connections: bool = True) -> None:
    """Forget every per-container object: settings, engine, session factory, AWS clients.

    `close_connections=False` in a forked child: the pooled connections belong to the parent process,
    so they are dropped without being closed (closing would end the parent's sessions).
    """
    for cached, on_reset in _REGISTERED:
        if on_reset is not None and cached.cache_info().currsize:
            on_reset(cached(), close_connections)
        cached.cache_clear()
    # Powertools' parameters (the database secret) keep their own cache and boto3 client; only
    # loaded on credentialed connects, and not imported here for the others.
    parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters")
    if parameters is not None:
        parameters.clear_caches()


def after_restore() -> None:
    """Lambda SnapStart's after-restore hook (registered by `onboarding.api`): forget everything built
    before the snapshot.

    A restored execution environment resumes from memory captured at initialization, possibly hours
    earlier and shared by many environments: its sockets are dead (their connections belonged to the
    environment that was snapshotted), its secrets and IAM tokens may be stale. Nothing is closed (that
    would be network I/O on dead sockets within the restore's 10 s limit): the pooled connections are
    dropped, and the next request builds the settings, the engine and its connection, and the AWS
    clients anew.
    """
    reset(close_connections=False)
