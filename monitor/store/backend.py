"""The seam of a store backend: one `Backend` record per backend, registered in
`monitor.store.registry.BACKENDS` under the scheme users write in `[monitor] store`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.store.protocols import Store


CHECK_BUDGET = 5.0  # seconds a command waits at start for the consistency check


class Build(Protocol):
    def __call__(self, settings: Settings, *, observe: bool, clock: Callable[[], float]) -> Store: ...


class Check(Protocol):
    def __call__(self, settings: Settings, budget: float | None) -> bool: ...


@dataclass(frozen=True)
class Backend:
    """One backend.

    `build(settings, observe=, clock=)` makes its `Store`, not yet opened. `observe=True`
    is the running monitor: its runs are recorded, so time it was stopped counts as
    unmonitored; readers (`monitor report`, `monitor check`) pass False.
    `has_history(settings)` says whether there is anything to read without creating
    it; `where(settings)` names the database for messages (never with a password).

    `check(settings, budget)` is the database's own consistency check, the one both
    `monitor run` (and `monitor report`) at start and `monitor preflight` use: it raises
    `StoreError` (reason "database corrupt", its message one line saying what was found)
    for a damaged database, returns False for a check that did not end within `budget`
    seconds (None: no limit) or could not run now (a lock), True for a sound database or
    nothing to check yet. At start the budget is `CHECK_BUDGET` and a longer check is
    finished in the background by the running store; preflight waits for the end, in a
    thread. None: the backend has no such check (commands start unchecked, preflight
    says it cannot tell).

    `folder(settings)`, optional, for `monitor preflight`: the local folder the
    backend's files grow in (its free space is checked; None: the data live on a
    database server).
    """

    scheme: str
    build: Build
    has_history: Callable[[Settings], bool]
    where: Callable[[Settings], str]
    folder: Callable[[Settings], Path] | None = None
    check: Check | None = None
