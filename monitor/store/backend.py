"""The seam of a store backend: one `Backend` record per backend, registered in
`monitor.store.registry.BACKENDS` under the scheme users write in `[monitor] store`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.store.protocols import Store


class Build(Protocol):
    def __call__(self, settings: Settings, *, observe: bool, clock: Callable[[], float]) -> Store: ...


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
    `check(settings)` looks for a store a command cannot use before it starts, within a
    few seconds: `StoreError` for a damaged database (reason "database corrupt"), one
    that cannot be reached or is newer than the code; False for a check that needs
    longer (the running store finishes it in the background), True for sound.
    """

    scheme: str
    build: Build
    has_history: Callable[[Settings], bool]
    where: Callable[[Settings], str]
    migrate: Callable[[Settings], tuple[int, int]]
    check: Callable[[Settings], bool] = lambda settings: True
