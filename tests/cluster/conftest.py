"""Fixtures of the cluster tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgresql import PostgreSQL


@pytest.fixture
def server() -> Iterator[PostgreSQL]:
    """A PostgreSQL server of the test's own: stopping it must not stop the other tests'
    databases (the session's server of `tests/conftest.py`)."""
    found = PostgreSQL()
    found.start()
    yield found
    found.stop()
