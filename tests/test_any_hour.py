"""The tests that involve dates pass at any hour and in any time zone.

They run again in a child process under Debian's faketime, its wall clock starting at
fixed instants where the date in UTC, in Asia/Jakarta (the zone the tests configure)
and in the process's own zone are not all the same day. A fixture that builds its days
on one clock while the assertion counts them on another fails there, whatever the hour
the suite runs at. Monotonic clocks stay real, so timeouts keep working; faketime breaks
waits on child processes and blocking sleeps, so only in-process modules run this way.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.integration import need

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
MODULES = [
    "tests/web/test_pages.py",  # day bars, the watch's day count and axis
    "tests/web/test_api.py",  # times in and out of the API, the real store's day
    "tests/report/test_build.py",  # report windows and dates in the configured zone
    "tests/store/test_timeline.py",
    "tests/store/test_history.py",  # downtime split into the configured zone's days
    "tests/alerting/test_policy.py",
]
MOMENTS = [
    # 03:01 the next day in Jakarta, 20:01 here: also a minute into an hour, where a fixture
    # "a minute or two ago" straddles two hourly rollups.
    pytest.param(datetime(2026, 12, 1, 20, 1, 10, tzinfo=UTC), "UTC", id="jakarta-a-day-ahead"),
    # 10:30 in Jakarta, 19:30 the day before here.
    pytest.param(datetime(2026, 12, 2, 3, 30, tzinfo=UTC), "America/Los_Angeles", id="local-a-day-behind"),
]
# The child's first line: where its wall clock stood, to prove faketime took hold.
SHOW_CLOCK = "import sys, time, pytest; print(time.time(), flush=True); sys.exit(pytest.main(sys.argv[1:]))"


@pytest.mark.parametrize(("moment", "zone"), MOMENTS)
def test_the_date_tests_pass_when_the_zones_dates_differ(moment: datetime, zone: str) -> None:
    faketime = need("faketime", "faketime")
    # faketime reads a start time in the process's zone.
    start = moment.astimezone(ZoneInfo(zone)).strftime("@%Y-%m-%d %H:%M:%S")
    args = ["-q", "-p", "no:cacheprovider", "-m", "not integration", *MODULES]
    done = subprocess.run(
        [faketime, "--exclude-monotonic", "-f", start, sys.executable, "-c", SHOW_CLOCK, *args],
        cwd=ROOT,
        env={**os.environ, "TZ": zone},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    first, _, report = done.stdout.partition("\n")
    clock = None
    with contextlib.suppress(ValueError):
        clock = float(first)
    assert clock is not None and abs(clock - moment.timestamp()) < 60, f"not started at {start}: {done.stdout[:2000]}"
    failed = done.returncode != 0
    assert not failed, report[-4000:] + done.stderr[-2000:]
