"""Certificates against the watch period: read now from real TLS servers (trustme) when
nothing is stored, else from the stored last result."""

from __future__ import annotations

import math
from pathlib import Path

import trustme

from monitor.preflight.model import Moment, Status
from monitor.result import Result
from monitor.store.registry import open_store
from tests.alertkit import free_port
from tests.preflight.kit import DAY, END, NOW, START, Clock, build, certificate, row, tls_servers, write_config

NOTIFIER = f'[notifiers.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:{free_port()}/hook"\n'
CLOSED = free_port()  # nothing listens here


def days_left(expiry: float) -> int:
    return math.floor((expiry - END) / DAY)


async def test_a_certificate_expiring_inside_the_period_is_a_problem_and_one_after_it_is_fine(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    expiries = {
        "mid": START + 5 * DAY,  # in the middle of the period
        "edge": END + 3 * DAY,  # after it, inside the 7-day margin
        "soon": END + 20 * DAY,  # after the margin, inside the 30 warning days
        "late": END + 90 * DAY,  # long after it
    }
    async with tls_servers(*(certificate(ca, at) for at in expiries.values())) as ports:
        body = "".join(
            f'[targets.{tid}]\nurl = "tls://127.0.0.1:{port}"\nca_file = "ca.pem"\n'
            for tid, port in zip(expiries, ports, strict=True)
        )
        config = write_config(tmp_path, body + NOTIFIER, defaults='notify = ["hook"]')
        checklist = await build(config)
    mid = row(checklist, "certificates", "mid")
    assert (mid.status, mid.found.key) == (Status.PROBLEM, "preflight.cert.during")
    assert mid.found.values == {"expiry": Moment(expiries["mid"]), "days": days_left(expiries["mid"]), "before": 5}
    assert mid.found.values["days"] == -5  # left on the period's last day
    assert mid.todo is not None and mid.todo.values == {"start": Moment(START)}
    edge = row(checklist, "certificates", "edge")
    assert (edge.status, edge.found.key, edge.found.values["days"]) == (Status.PROBLEM, "preflight.cert.margin", 3)
    soon = row(checklist, "certificates", "soon")
    assert (soon.status, soon.found.key, soon.found.values["days"]) == (Status.WARNING, "preflight.cert.soon", 20)
    late = row(checklist, "certificates", "late")
    assert (late.status, late.ids, late.found.values) == (Status.OK, ("late",), {"count": 1, "days": 90})
    assert checklist.exit_code == 1


async def test_a_stored_expiry_is_judged_without_probing(tmp_path: Path) -> None:
    # Nothing listens on the target's port: only the stored result can tell the date.
    config = write_config(
        tmp_path,
        f'[targets.web]\nurl = "https://127.0.0.1:{CLOSED}/"\ncert_warn_days = [45, 14]\n' + NOTIFIER,
        defaults='notify = ["hook"]',
    )
    expiry = END + 40 * DAY
    store = open_store(config.settings, clock=Clock(NOW - DAY))
    await store.open()
    store.add_result("web", Result(True, started=NOW - DAY, duration=0.1, cert_expiry=expiry))
    await store.flush()
    await store.close()
    checklist = await build(config)
    web = row(checklist, "certificates", "web")
    # 40 days left on the last day is inside this target's own 45 warning days.
    assert (web.status, web.found.key, web.found.values["days"]) == (Status.WARNING, "preflight.cert.soon", 40)


async def test_a_certificate_nobody_could_read_is_a_warning_not_a_problem(tmp_path: Path) -> None:
    config = write_config(tmp_path, f'[targets.web]\nurl = "https://127.0.0.1:{CLOSED}/"\ntimeout = "1s"\n' + NOTIFIER)
    checklist = await build(config)
    web = row(checklist, "certificates", "web")
    assert (web.status, web.found.key) == (Status.WARNING, "preflight.cert.unknown")


async def test_targets_without_a_certificate_are_not_in_the_certificate_check(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        f'[targets.site]\nurl = "http://127.0.0.1:{CLOSED}/"\n[targets.smtp]\nurl = "tcp://127.0.0.1:{CLOSED}"\n'
        + NOTIFIER,
    )
    checklist = await build(config)
    assert [r for r in checklist.rows if r.check == "certificates"] == []
