"""The machine's part: free space against the projected growth (an injected disk-usage
answer), the open-file limit (this process's, or a systemd unit's read from real unit
files) judged by the rule `monitor run` applies at start, the clock's synchronisation,
and the monitor's own locations."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.preflight.checks import STORE_RESERVE, projected_bytes
from monitor.preflight.host import (
    SYSTEMD_DEFAULT_NOFILE,
    ClockSync,
    UnitLimit,
    clock_sync,
    open_files,
    own_open_files,
    unit_limit,
)
from monitor.preflight.model import Size, Status
from monitor.scheduler import IN_FLIGHT
from monitor.web.guard import connection_budget, open_files_needed
from tests.alertkit import free_port
from tests.preflight.kit import DAY, END, NOW, Machine, build, row, statuses, write_config

NOTIFIER = f'[notifiers.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:{free_port()}/hook"\n'


def body(count: int) -> str:
    port = free_port()
    return "".join(f'[targets.t{i}]\nurl = "http://127.0.0.1:{port}/{i}"\n' for i in range(count)) + NOTIFIER


def test_the_projection_counts_each_targets_raw_window_and_its_days_of_rollups(tmp_path: Path) -> None:
    config = write_config(tmp_path, body(50), monitor='raw_retention = "48h"')
    # 50 targets every 30 s keep 48 h of raw results (5,760 each at 27 bytes), and add
    # 1,460 bytes of rollups and events a day each for the 13 days until the end.
    expected = 50 * 5760 * 27 + 50 * 13 * 1460 + STORE_RESERVE
    assert projected_bytes(config, NOW, END) == expected
    assert projected_bytes(config, END + DAY, END) == 50 * 5760 * 27 + STORE_RESERVE  # nothing left to grow


@pytest.mark.parametrize(
    ("spare", "status", "key"),
    [
        (-1, Status.PROBLEM, "preflight.storage.full"),
        (0.5, Status.WARNING, "preflight.storage.tight"),
        (1.5, Status.OK, "preflight.storage.ok"),
    ],
)
async def test_a_full_ish_data_folder_is_a_problem_a_tight_one_a_warning(
    tmp_path: Path, spare: float, status: Status, key: str
) -> None:
    config = write_config(tmp_path, body(50))
    needed = projected_bytes(config, NOW, END)
    machine = Machine(free=needed - 1 if spare < 0 else int(needed * (1 + spare)))
    checklist = await build(config, machine)
    found = row(checklist, "storage")
    assert (found.status, found.found.key) == (status, key)
    assert found.found.values["needed"] == Size(needed) and found.found.values["free"] == Size(machine.free or 0)
    assert machine.asked == [config.settings.data_dir]  # where the SQLite file grows
    assert checklist.exit_code == (1 if status is Status.PROBLEM else 0)


async def test_free_space_that_cannot_be_read_is_a_warning(tmp_path: Path) -> None:
    checklist = await build(write_config(tmp_path, body(1)), Machine(free=None))
    assert statuses(checklist, "storage") == [(Status.WARNING, (), "preflight.storage.unknown")]


def test_an_installed_units_limit_is_read_with_its_drop_ins_applied(tmp_path: Path) -> None:
    unit = tmp_path / "monitor.service"
    unit.write_text("[Service]\nExecStart=/opt/monitor/bin/monitor run\nLimitNOFILE=4096\n", encoding="utf-8")
    assert unit_limit([tmp_path / "missing.service", unit]) == UnitLimit(unit, 4096)
    drop_ins = tmp_path / "monitor.service.d"
    drop_ins.mkdir()
    (drop_ins / "limits.conf").write_text("[Service]\nLimitNOFILE=65536:524288\n", encoding="utf-8")
    assert unit_limit([unit]) == UnitLimit(unit, 524288)  # the hard value: monitor run raises to it
    (drop_ins / "zz.conf").write_text("[Service]\nLimitNOFILE=infinity\n", encoding="utf-8")
    assert unit_limit([unit]) == UnitLimit(unit, None)
    plain = tmp_path / "other.service"
    plain.write_text("[Service]\nExecStart=/bin/true\n", encoding="utf-8")
    assert unit_limit([plain]) == UnitLimit(plain, SYSTEMD_DEFAULT_NOFILE, default=True)
    assert unit_limit([tmp_path / "missing.service"]) is None


def test_the_shipped_unit_allows_enough_open_files_for_twenty_thousand_targets() -> None:
    shipped = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "monitor.service"
    found = unit_limit([shipped])
    assert found is not None and not found.default
    assert found.limit is None or found.limit >= open_files_needed(min(20_000, IN_FLIGHT))


async def test_a_unit_limit_under_what_the_targets_need_is_a_problem(tmp_path: Path) -> None:
    config = write_config(tmp_path, body(60))
    unit = tmp_path / "monitor.service"
    checklist = await build(config, Machine(unit=UnitLimit(unit, 200)))
    found = row(checklist, "open_files")
    assert (found.status, found.found.key) == (Status.PROBLEM, "preflight.files.unit")
    assert found.found.values == {"unit": str(unit), "limit": "200", "needed": open_files_needed(60), "targets": 60}
    assert checklist.exit_code == 1


@pytest.mark.parametrize("limit", [200, 300, 400, 503, 504])
async def test_the_limit_is_judged_by_the_rule_monitor_run_applies_at_start(tmp_path: Path, limit: int) -> None:
    # 60 targets: the probes keep 128 + 2 x 60 descriptors, the advice leaves 256 for the web.
    config = write_config(tmp_path, body(60))
    found = row(await build(config, Machine(open_files=limit)), "open_files")
    too_low = connection_budget(limit, 60)[1] is not None  # what monitor run logs at start
    expected = Status.PROBLEM if too_low else Status.WARNING if limit < open_files_needed(60) else Status.OK
    assert found.status is expected
    assert (limit, found.status) in {
        (200, Status.PROBLEM),
        (300, Status.WARNING),
        (400, Status.WARNING),
        (503, Status.WARNING),
        (504, Status.OK),
    }


async def test_without_a_unit_this_process_limit_is_judged(tmp_path: Path) -> None:
    config = write_config(tmp_path, body(3))
    low = await build(config, Machine(open_files=100))
    assert statuses(low, "open_files") == [(Status.PROBLEM, (), "preflight.files.shell")]
    fine = await build(config, Machine(open_files=None))  # unlimited
    assert statuses(fine, "open_files") == [(Status.OK, (), "preflight.files.shell")]


def test_the_limit_read_is_the_one_monitor_run_would_raise_to() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    reachable = hard if hard != resource.RLIM_INFINITY else soft
    assert open_files() == (None if reachable == resource.RLIM_INFINITY else reachable)
    assert own_open_files() == (None if soft == resource.RLIM_INFINITY else soft)


@pytest.mark.parametrize(
    ("sync", "status", "key"),
    [
        (ClockSync(True, 0.004, 0.02), Status.OK, "preflight.clock.ok"),
        (ClockSync(True, 2.5, 3.0), Status.WARNING, "preflight.clock.offset"),
        (ClockSync(False, 0.0, 16.0), Status.WARNING, "preflight.clock.unsynced"),
        (None, Status.WARNING, "preflight.clock.unknown"),
    ],
)
async def test_the_clock_is_ok_only_when_synchronised(
    tmp_path: Path, sync: ClockSync | None, status: Status, key: str
) -> None:
    checklist = await build(write_config(tmp_path, body(1)), Machine(clock=sync))
    assert statuses(checklist, "clock") == [(status, (), key)]


def test_the_kernels_clock_state_reads_or_says_it_cannot() -> None:
    found = clock_sync()
    assert found is None or (isinstance(found.synchronised, bool) and found.max_error >= 0)


async def test_one_monitor_in_one_place_and_no_connectivity_check_are_warnings(tmp_path: Path) -> None:
    checklist = await build(write_config(tmp_path, body(1)))
    assert statuses(checklist, "instances") == [(Status.WARNING, (), "preflight.instances.single")]
    assert statuses(checklist, "connectivity") == [(Status.WARNING, (), "preflight.connectivity.none")]
