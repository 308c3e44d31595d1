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


class Build(Protocol):
    def __call__(self, settings: Settings, *, observe: bool, clock: Callable[[], float]) -> Store: ...


@dataclass(frozen=True)
class Backend:
    """One backend.

    `build(settings, observe=, clock=)` makes its `Store`, not yet opened. `observe=True`
    is the running monitor: its runs are recorded, so time it was stopped counts as
    unmonitored; readers (`monitor report`, `monitor check`) pass False.
    `has_history(settings)` says whether there is anything to read without creating
    it; `where(settings)` names the database for messages (never with a password).

    Optional, for `monitor preflight`: `folder(settings)` is the local folder the
    backend's files grow in (its free space is checked; None: the data live on a
    database server), and `integrity(settings)` runs the database's own consistency
    check and returns the problems it found (`[]` when sound). It may take a while on a
    large database: call it in a thread. A backend without it cannot be checked.
    """

    scheme: str
    build: Build
    has_history: Callable[[Settings], bool]
    where: Callable[[Settings], str]
    folder: Callable[[Settings], Path] | None = None
    integrity: Callable[[Settings], list[str]] | None = None
