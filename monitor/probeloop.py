"""The probe loop: the schedulers and the probes on an event loop of their own, in a
thread of their own, so that serving the status page no longer delays probes by its
loop's iterations (the GIL still couples the two threads: `SWITCH_SECONDS`).

On one loop, a crowd on `/` made every probe's response wait for the iterations that
served the crowd before its timing mark was taken: a 100 ms target measured 105-227 ms
at p99 (BENCHMARKS.md, "The citizen crowd beside the probing figures"). Here the probe
loop's iterations are the probes' alone.

The threading contract:

- The probe loop (uvloop) runs in the thread `start()` makes, from `start()` to
  `stop()`. What probes and schedules lives there and is touched from there only: the
  `Scheduler`s (`set_targets`, `run`), `run_probe`, the probe context's transports,
  engines and caches.
- The main loop (the one serving, with the state machine, the store, the metrics and
  the alerting) reaches it only through `call(fn, *args)` (run soon there, in the
  order called, not awaited), `spawn(coro)` (a task there that is meant to run until
  `stop()`) and `await run(coro)` (a coroutine run there, its result or exception
  returned here).
- The other way, code on the probe loop hands values back with `deliver(fn, *args)`:
  they wait in a batch and the main loop runs them in the order delivered, one
  `call_soon_threadsafe` per batch, at most every `BATCH_SECONDS` (a probe's timing is
  taken before; what it costs is when a result is judged, not what it measured).
- Before `start()` and after `stop()` there is no second thread: `call` and `deliver`
  run at once, `run` awaits on the caller's loop (`monitor check`, the unit tests).
- While it runs, the interpreter's switch interval is `SWITCH_SECONDS` (restored by
  `stop()`): the serving thread yields the GIL to a woken probe thread sooner.
- `stop()` cancels the spawned tasks (a scheduler cancels its probes in flight), runs
  the `closing` coroutine there (the probe context's `aclose`), stops the loop and
  joins the thread, each within `STOP_SECONDS`; what was delivered meanwhile is run
  before it returns. An exception in the thread is logged; a spawned task that ends
  before `stop()` is logged as an error and makes `alive` false (`/readyz` says so).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from monitor.log import kv

log = logging.getLogger(__name__)

T = TypeVar("T")
BATCH_SECONDS = 0.01  # the longest a delivered value waits for the main loop's turn
STOP_SECONDS = 5.0  # each step of `stop()`: cancelling, closing, joining
# The interpreter's thread switch interval while both loops run (Python's default: 5 ms).
# A probe thread woken by an arrival waits up to this long for the serving thread to
# yield the GIL before its callback can mark the time; 1 ms measured better for the
# crowd's error at no measurable cost in probes per CPU-second (BENCHMARKS.md).
SWITCH_SECONDS = 0.001


class ProbeLoop:
    """The probing thread's event loop and the hand-offs across it; see the module doc."""

    def __init__(self, name: str = "probing", switch_interval: float | None = SWITCH_SECONDS) -> None:
        self._name = name
        self._switch_interval = switch_interval
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()
        self._batch: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        self._flushing = False  # a flush of the batch is planned on the probe loop
        self._stopping = False
        self._switch: float | None = None  # the interpreter's switch interval before `start()`
        self.failed = False  # a spawned task ended or the thread died before `stop()`

    @property
    def running(self) -> bool:
        """The thread runs and takes calls."""
        return self._loop is not None

    @property
    def alive(self) -> bool:
        """No spawned task ended and the thread did not die before `stop()`."""
        thread = self._thread
        return not self.failed and (thread is None or thread.is_alive() or self._stopping)

    async def start(self) -> None:
        """Start the thread and return once its loop runs (called on the main loop)."""
        if self._thread is not None:
            raise RuntimeError("the probe loop is started already")
        self._main = asyncio.get_running_loop()
        if self._switch_interval is not None:
            self._switch = sys.getswitchinterval()
            sys.setswitchinterval(self._switch_interval)
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name=self._name, daemon=True)
        self._thread.start()
        await asyncio.get_running_loop().run_in_executor(None, ready.wait, STOP_SECONDS)
        if self._loop is None:
            raise RuntimeError("the probe loop did not start")

    def _serve(self, ready: threading.Event) -> None:
        loop = _new_loop()
        loop.set_exception_handler(_log_exception)
        asyncio.set_event_loop(loop)
        self._loop = loop
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        except BaseException:
            log.exception("the probe loop died")
            self.failed = True
        finally:
            self._loop = None
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def call(self, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn(*args)` on the probe loop soon (at once when not running)."""
        loop = self._loop
        if loop is None:
            fn(*args)
            return
        loop.call_soon_threadsafe(fn, *args)

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run `coro` as a task on the probe loop until `stop()`."""
        loop = self._loop
        if loop is None:
            coro.close()
            raise RuntimeError("the probe loop is not running")
        loop.call_soon_threadsafe(self._spawn, coro, name)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._stopping or task.cancelled():
            return
        self.failed = True  # probing must not stop silently
        error = task.exception()
        log.error("a probing task ended", exc_info=error, extra=kv(task=task.get_name()))

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` run on the probe loop (on the caller's loop when not running)."""
        loop = self._loop
        if loop is None:
            return await coro
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, loop)
        return await asyncio.wrap_future(future)

    def deliver(self, fn: Callable[..., None], *args: Any) -> None:
        """Hand `fn(*args)` to the main loop, in a batch (called on the probe loop)."""
        if self._loop is None or self._main is None:
            fn(*args)
            return
        with self._lock:
            self._batch.append((fn, args))
        if not self._flushing:
            self._flushing = True
            self._loop.call_later(BATCH_SECONDS, self._flush)

    def _flush(self) -> None:
        self._flushing = False
        with self._lock:
            batch, self._batch = self._batch, []
        if batch and self._main is not None and not self._main.is_closed():
            self._main.call_soon_threadsafe(_run_batch, batch)

    async def stop(self, closing: Callable[[], Coroutine[Any, Any, None]] | None = None) -> None:
        """Cancel the spawned tasks, await `closing()` there, stop and join the thread
        (each within `STOP_SECONDS`); run what was delivered meanwhile."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            if closing is not None:
                await closing()
            return
        self._stopping = True
        await self._there(loop, self._cancel_all(), "cancelling the probes")
        if closing is not None:
            await self._there(loop, closing(), "closing the probe context")
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.get_running_loop().run_in_executor(None, thread.join, STOP_SECONDS)
        if thread.is_alive():
            log.error("the probe loop did not stop within its deadline", extra=kv(seconds=STOP_SECONDS))
        self._loop = None
        if self._switch is not None:
            sys.setswitchinterval(self._switch)
        with self._lock:
            batch, self._batch = self._batch, []
        _run_batch(batch)

    async def _there(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None], what: str) -> None:
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            await asyncio.wait_for(asyncio.wrap_future(future), STOP_SECONDS)
        except TimeoutError:
            log.error("the probe loop's stop overran its deadline", extra=kv(step=what, seconds=STOP_SECONDS))
        except Exception:
            log.exception("the probe loop's stop failed", extra=kv(step=what))

    async def _cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # as uvicorn's loop: not installed on Windows
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _run_batch(batch: list[tuple[Callable[..., None], tuple[Any, ...]]]) -> None:
    for fn, args in batch:
        try:
            fn(*args)
        except Exception:  # one bad hand-off must not lose the rest of the batch
            log.exception("handing a probe's result over failed")


def _log_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    log.error("error on the probe loop", exc_info=context.get("exception"), extra=kv(message=context.get("message")))
