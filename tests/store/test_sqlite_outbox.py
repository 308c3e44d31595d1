"""The SQLite outbox's own tables: what the contract tests (`test_outbox.py`) cannot see
without SQL."""

from __future__ import annotations

from pathlib import Path

from monitor.store.sqlite.outbox import SQLiteOutbox
from tests.alertkit import alert


def test_a_refresh_leaves_no_row_in_the_dedup_table(tmp_path: Path) -> None:
    box = SQLiteOutbox(tmp_path / "monitor.db")
    box.open()
    box.enqueue(alert("web:refresh:1", "refresh"), ["am"])
    box.enqueue(alert("web:refresh:2", "refresh"), ["am"])
    assert [e.alert.id for e in box.entries()] == ["web:refresh:2"]
    assert box.db.execute("SELECT COUNT(*) FROM outbox_seen").fetchone() == (0,)
    box.close()


def test_an_unreadable_row_is_failed_instead_of_blocking_the_queue(tmp_path: Path) -> None:
    box = SQLiteOutbox(tmp_path / "m.db")
    box.open()
    box.enqueue(alert("web:down:1"), ["hook"])
    box.enqueue(alert("web:down:2"), ["hook"])
    box.db.execute(
        "UPDATE outbox SET alert = '{\"id\": \"web:down:1\"}' WHERE alert_id = 'web:down:1'"
    )  # e.g. written by another version
    head = box.head("hook")
    assert head is not None and head.alert.id == "web:down:2"
    [failed] = box.entries("failed")  # still listed for the admin view
    assert (failed.alert.id, failed.alert.target) == ("web:down:1", "web")
    assert failed.error is not None and failed.error.startswith("unreadable alert")
    box.close()
