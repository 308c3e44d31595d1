"""The PostgreSQL URL as messages show it: never the password, wherever it was written."""

from __future__ import annotations

import pytest

from monitor.config import Settings
from monitor.store.registry import where


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://monitor:s3cret@db.example:5432/monitor", "postgresql://monitor@db.example:5432/monitor"),
        ("postgres://monitor:s3cret@db/monitor?sslmode=require", "postgres://monitor@db/monitor"),
        ("postgresql://db/monitor?user=monitor&password=s3cret", "postgresql://db/monitor"),
        ("postgresql://mon%40itor:s3%40cret@db/m", "postgresql://mon@itor@db/m"),
        ("postgresql://monitor:p@ss@db/m", "postgresql://monitor@db/m"),
    ],
)
def test_where_never_shows_the_password(url: str, shown: str) -> None:
    assert where(Settings(store=url)) == shown
