"""The SQLite store itself: it is a `Store`, and its file stays small. What every
backend promises is tested on SQLite too, in the contract modules of this folder."""

from __future__ import annotations

from pathlib import Path

from monitor.store import Store
from monitor.store.sqlite.store import SQLiteStore


def test_it_satisfies_the_store_protocol(tmp_path: Path) -> None:
    store: Store = SQLiteStore(tmp_path / "x.db")
    assert store.healthy() is False  # not open yet


async def test_it_stays_within_one_megabyte_per_target_per_year(tmp_path: Path) -> None:
    from bench.dbgrowth import measure

    # Sixty days: enough pages that scaling the growing tables to a year is fair.
    growth = await measure(targets=1, days=60, interval=30.0, folder=tmp_path)
    assert growth.results == 60 * 2880
    assert growth.tables["rollups"] > 0
    assert growth.per_target_year < 1_000_000
