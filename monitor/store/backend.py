"""The seam of a store backend: one `Backend` record per backend, registered in
`monitor.store.registry.BACKENDS` under the scheme users write in `[monitor] store`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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
    it; `where(settings)` names the database for messages (never with a password);
    `migrate(settings)` creates or migrates the schema and returns (the version found,
    the version now): what `open()` does first, as `monitor migrate` runs it. Both
    raise `StoreError` when the database cannot be reached or is newer than the code.

    `check(settings, budget)` looks for a store a command cannot use, the one hook both
    `monitor run` (and `monitor report`) at start and `monitor preflight` use:
    `StoreError` for a damaged database (reason "database corrupt", its message one line
    saying what was found), one that cannot be reached or is newer than the code; False
    for a check that did not end within `budget` seconds (None: no limit) or could not
    run now (a lock); True for sound. At start the budget is `CHECK_BUDGET` and a longer
    check is finished in the background by the running store; preflight runs it to its
    end, in a thread. `reads_pages` says what it covers: the data read for damage
    (SQLite's `quick_check`), or only that the store answers at a schema this monitor
    knows (a database server, which keeps its own pages sound).

    `folder(settings)`, optional, for `monitor preflight`: the local folder the
    backend's files grow in (its free space is checked; None: the data live on a
    database server).
    """

    scheme: str
    build: Build
    has_history: Callable[[Settings], bool]
    where: Callable[[Settings], str]
    migrate: Callable[[Settings], tuple[int, int]]
    check: Check = field(default=lambda settings, budget: True, repr=False)
    reads_pages: bool = False
    folder: Callable[[Settings], Path] | None = None
