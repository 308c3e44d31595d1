"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgresql import PostgreSQL


@pytest.fixture(scope="session")
def postgresql() -> Iterator[PostgreSQL]:
    """A real PostgreSQL cluster for the whole session (see `tests.postgresql`), started
    on first use and removed at the end; skips (or fails under
    MONITOR_REQUIRE_INTEGRATION=1) without Debian's `postgresql` package."""
    server = PostgreSQL()
    server.start()
    try:
        yield server
    finally:
        server.stop()
