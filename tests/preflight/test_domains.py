"""Registered domains against the watch period: read now from a local RDAP server (RFC
9083 answers on loopback, through `rdap_url`) when nothing is stored, the same way as
certificates, else from the stored last result."""

from __future__ import annotations

import math
from pathlib import Path

from monitor.preflight.model import Moment, Status
from monitor.probes.domain import EXPIRY
from monitor.result import Result
from monitor.store.registry import open_store
from tests.alertkit import free_port
from tests.preflight.kit import DAY, END, NOW, START, Clock, build, row, rows, write_config
from tests.probes.servers import HttpServer
from tests.probes.test_domain import registry

NOTIFIER = f'[notifiers.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:{free_port()}/hook"\n'


def domains(rdap: str, names: dict[str, str], extra: str = "") -> str:
    return "".join(
        f'[targets.{tid}]\nurl = "domain://{name}"\nrdap_url = "{rdap}"\ntimeout = "2s"\n{extra}'
        for tid, name in names.items()
    )


async def test_a_domain_expiring_inside_the_period_is_a_problem_read_now_through_rdap(tmp_path: Path) -> None:
    expiries = {
        "mid": START + 4 * DAY,  # in the middle of the period
        "edge": END + 2 * DAY,  # after it, inside the 7-day margin
        "soon": END + 20 * DAY,  # inside the domain's 30 warning days
        "late": END + 200 * DAY,
    }
    names = {tid: f"{tid}.kotimkab.go.id" for tid in expiries}
    async with HttpServer() as server:
        for tid, at in expiries.items():
            registry(server, names[tid], at)
        config = write_config(tmp_path, domains(server.url("/rdap/"), names) + NOTIFIER, defaults='notify = ["hook"]')
        checklist = await build(config)
        asked = sorted(r.path for r in server.requests)
    assert asked == sorted(f"/rdap/domain/{name}" for name in names.values())  # each looked up once, now
    mid = row(checklist, "domains", "mid")
    assert (mid.status, mid.found.key) == (Status.PROBLEM, "preflight.domain.during")
    assert mid.found.values == {"expiry": Moment(expiries["mid"]), "days": -6, "before": 6}
    assert mid.todo is not None and (mid.todo.key, mid.todo.values) == (
        "preflight.domain.renew",
        {"start": Moment(START)},
    )
    edge = row(checklist, "domains", "edge")
    assert (edge.status, edge.found.key, edge.found.values["days"]) == (Status.PROBLEM, "preflight.domain.margin", 2)
    soon = row(checklist, "domains", "soon")
    assert (soon.status, soon.found.key, soon.found.values["days"]) == (Status.WARNING, "preflight.domain.soon", 20)
    late = row(checklist, "domains", "late")
    assert (late.status, late.found.values) == (Status.OK, {"count": 1, "days": 200})
    assert rows(checklist, "certificates") == []  # a domain meets no certificate
    assert checklist.exit_code == 1


async def test_a_stored_registration_is_judged_with_the_domains_own_warning_days(tmp_path: Path) -> None:
    rdap = f"http://127.0.0.1:{free_port()}/rdap/"  # nothing answers: only the stored result tells
    body = domains(rdap, {"pemkab": "kotimkab.go.id"}, extra="warn_days = [60, 7]\n") + NOTIFIER
    config = write_config(tmp_path, body, defaults='notify = ["hook"]')
    expiry = END + 45 * DAY
    store = open_store(config.settings, clock=Clock(NOW - DAY))
    await store.open()
    store.add_result("pemkab", Result(True, started=NOW - DAY, duration=0.1, extra={EXPIRY: expiry}))
    await store.flush()
    await store.close()
    checklist = await build(config)
    found = row(checklist, "domains", "pemkab")
    assert (found.status, found.found.key) == (Status.WARNING, "preflight.domain.soon")
    assert found.found.values == {"expiry": Moment(expiry), "days": math.floor((expiry - END) / DAY)}


async def test_a_registry_that_does_not_answer_leaves_the_expiry_unknown_as_a_warning(tmp_path: Path) -> None:
    async with HttpServer() as server:
        server.reply("/rdap/domain/kotimkab.go.id", 500, b"busy")
        body = domains(server.url("/rdap/"), {"pemkab": "kotimkab.go.id"}) + NOTIFIER
        checklist = await build(write_config(tmp_path, body, defaults='notify = ["hook"]'))
    found = row(checklist, "domains", "pemkab")
    assert (found.status, found.found.key) == (Status.WARNING, "preflight.domain.unknown")
    assert found.todo is not None and found.todo.key == "preflight.domain.unknown_todo"
    assert checklist.exit_code == 0
