"""The history store's interface. `monitor.sqlitestore.SQLiteStore` implements it; a
PostgreSQL implementation can serve several instances behind the same interface.

Writes (`add_result`, `add_event`) are queued and never block the probe loop: one writer
persists them in batches. Reads are async and never scan raw results for long windows
(rollups answer those).
"""

from __future__ import annotations

from typing import Protocol

from monitor.result import Event, Result


class Store(Protocol):
    """What the runtime, the web app and the report need from the history."""

    async def open(self) -> None:
        """Create or migrate the schema and start the writer."""

    async def close(self) -> None:
        """Flush what is queued and close."""

    def add_result(self, target_id: str, result: Result, maintenance: bool = False) -> None:
        """Queue one probe result (`maintenance`: taken inside a maintenance window)."""

    def add_event(self, event: Event) -> None:
        """Queue one incident event."""

    async def flush(self) -> None:
        """Persist everything queued so far."""

    async def last_events(self) -> dict[str, Event]:
        """The latest event of each target: the state to resume from after a restart."""
        ...

    async def last_results(self) -> dict[str, Result]:
        """The latest result of each target (push heartbeats survive a restart this way)."""
        ...
