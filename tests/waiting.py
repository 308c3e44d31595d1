"""Waiting for something to happen instead of sleeping for a guessed time.

`until` (awaited in the test's event loop) and `wait_for` (blocking: a child process, a
thread, a server in another process) poll `condition` until it returns something true,
then return at once. When `timeout` passes first they raise `NotInTime` naming `what`
was awaited, e.g. "not within 10 s: the 404 recorded as failed".

A condition may raise to fail at once (the awaited process exited); exceptions listed in
`ignoring` count as "not yet" (a server still starting refuses connections), and the
last one is quoted if time runs out. `until` also awaits a condition that returns an
awaitable, so it can poll an HTTP client.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable

Errors = tuple[type[Exception], ...]


class NotInTime(AssertionError):
    """The awaited condition did not hold within the timeout."""


async def until(
    condition: Callable[[], object],
    timeout: float = 10.0,
    *,
    what: str,
    every: float = 0.02,
    ignoring: Errors = (),
) -> None:
    """Return once `condition()` is true; raise `NotInTime` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            value = condition()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return
        except ignoring as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise NotInTime(_message(timeout, what, last))
        await asyncio.sleep(every)


def wait_for(
    condition: Callable[[], object],
    timeout: float = 20.0,
    *,
    what: str,
    every: float = 0.1,
    ignoring: Errors = (),
) -> None:
    """Block until `condition()` is true; raise `NotInTime` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            if condition():
                return
        except ignoring as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise NotInTime(_message(timeout, what, last))
        time.sleep(every)


def _message(timeout: float, what: str, last: Exception | None) -> str:
    message = f"not within {timeout:g} s: {what}"
    return message if last is None else f"{message} (last: {last!r})"
