"""The checklist's formats in both languages (text, Markdown, JSON, HTML), the command's
window, options and exit codes, and the HTML in a real Chromium: no console errors,
one A4 page for a regency's fifty targets."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.config import Config
from monitor.preflight.model import Checklist, Status
from monitor.preflight.render import render, to_json
from monitor.preflight.run import choose_window
from monitor.result import Event, Result, State
from monitor.store.registry import open_store
from tests.alertkit import free_port
from tests.integration import need
from tests.preflight.kit import DAY, END, NOW, START, WATCH, Clock, build, local, shown, write_config
from tests.report.test_build import _Checker

CLOSED = free_port()


class Checker(_Checker):
    VOID = _Checker.VOID | {"col"}


GROUPS = ("Layanan publik", "Aplikasi layanan", "Server jaringan", "CCTV", "Kantor kecamatan")


def regency(folder: Path, language: str = "id") -> Config:
    """Fifty targets in five groups, twenty of them https, two notifiers and a window of
    maintenance in the period."""
    body = []
    for i in range(50):
        scheme = "https" if i < 20 else "http"
        body.append(
            f'[targets.layanan-{i:02d}]\nname = "Layanan nomor {i}"\ngroup = "{GROUPS[i % 5]}"\n'
            f'url = "{scheme}://127.0.0.1:{CLOSED}/{i}"\n'
        )
    body.append(f'[notifiers.oncall]\ntype = "webhook"\nurl = "http://127.0.0.1:{CLOSED}/oncall"\n')
    body.append(f'[notifiers.helpdesk]\ntype = "webhook"\nurl = "http://127.0.0.1:{CLOSED}/helpdesk"\n')
    body.append(
        f'[[maintenance]]\ngroups = ["CCTV"]\nstart = {local(START + DAY).isoformat()}\n'
        f'end = {local(START + DAY + 7200).isoformat()}\nreason = "Ganti perekam"\n'
    )
    return write_config(folder, "".join(body), language=language, defaults='notify = ["oncall"]')


async def with_history(config: Config) -> None:
    """A week of history: everything up, two targets down now, one slow, and the https
    targets' certificates, one expiring in the middle of the period."""
    clock = Clock(NOW - 8 * DAY)
    store = open_store(config.settings, clock=clock)
    await store.open()
    for tid in config.targets:
        store.add_event(Event(tid, NOW - 8 * DAY, State.UNKNOWN, State.UP, "ok"))
    store.add_event(Event("layanan-21", NOW - 3600, State.UP, State.DOWN, "connection_refused", "refused"))
    store.add_event(Event("layanan-33", NOW - 1800, State.UP, State.DOWN, "timeout", "no answer"))
    store.add_event(Event("layanan-40", NOW - 900, State.UP, State.DEGRADED, "slow", "3.4 s"))
    for i in range(20):
        expiry = START + 5 * DAY if i == 3 else END + (60 + i) * DAY
        store.add_result(f"layanan-{i:02d}", Result(True, started=NOW - 60, duration=0.1, cert_expiry=expiry))
    await store.flush()
    clock.now = NOW
    await store.close()


@pytest.fixture
async def checklist(tmp_path: Path) -> Checklist:
    config = regency(tmp_path)
    await with_history(config)
    return await build(config)


def test_the_default_window_is_the_current_or_else_the_next_watch(tmp_path: Path) -> None:
    config = write_config(tmp_path, f'[targets.web]\nurl = "http://127.0.0.1:{CLOSED}/"\n')
    assert choose_window(config, None, NOW).start == START  # the next one
    assert choose_window(config, None, START + DAY).name == WATCH  # the current one
    with pytest.raises(ValueError, match="every \\[\\[watch\\]\\] period has ended"):
        choose_window(config, None, END + 1)
    assert choose_window(config, WATCH, END + 1).end == END  # a named one, even past


def test_an_unknown_or_missing_watch_exits_2_naming_the_known_ones(tmp_path: Path, capsys: Any) -> None:
    config = write_config(tmp_path, f'[targets.web]\nurl = "http://127.0.0.1:{CLOSED}/"\n')
    assert main(["preflight", "-c", str(config.path), "--watch", "Lebaran"]) == 2
    assert f"no [[watch]] named 'Lebaran' (known: '{WATCH}')" in capsys.readouterr().err
    bare = write_config(tmp_path, f'[targets.web]\nurl = "http://127.0.0.1:{CLOSED}/"\n', watch=False)
    assert main(["preflight", "-c", str(bare.path)]) == 2
    assert "no [[watch]] period is configured" in capsys.readouterr().err


def test_an_invalid_configuration_exits_2(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "targets.toml"
    path.write_text('[targets.web]\nurl = "http://127.0.0.1/"\ninterval = "often"\n', encoding="utf-8")
    assert main(["preflight", "-c", str(path)]) == 2
    assert "targets.web.interval" in capsys.readouterr().err


def test_the_command_writes_json_to_a_file_and_exits_1_on_a_problem(tmp_path: Path) -> None:
    config = write_config(tmp_path, f'[targets.web]\nurl = "http://127.0.0.1:{CLOSED}/"\n')  # no notifier: a problem
    out = tmp_path / "siap.json"
    assert main(["preflight", "-c", str(config.path), "--format", "json", "-o", str(out)]) == 1
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["exit_code"] == 1 and data["watch"]["name"] == WATCH
    assert {"check": "notify", "status": "problem"}.items() <= data["rows"][0].items()


def test_json_has_the_documented_shape(checklist: Checklist) -> None:
    data = to_json(checklist, "en")
    assert set(data) == {"version", "title", "watch", "checked_at", "language", "summary", "exit_code", "rows"}
    assert data["watch"] == {"name": WATCH, "start": local(START).isoformat(), "end": local(END).isoformat()}
    assert data["summary"] == {s: checklist.count(Status(s)) for s in ("ok", "warning", "problem")}
    cert = next(r for r in data["rows"] if r["check"] == "certificates" and r["status"] == "problem")
    assert cert["ids"] == ["layanan-03"] and cert["found_key"] == "preflight.cert.during"
    assert cert["found_values"] == {"expiry": local(START + 5 * DAY).isoformat(), "days": -5, "before": 5}
    assert cert["found"] == f"The certificate expires {shown(START + 5 * DAY)}, 5 days before the watch period ends."
    assert cert["todo"] == f"Renew the certificate before {shown(START)}."
    down = next(r for r in data["rows"] if r["check"] == "states" and "layanan-21" in r["ids"])
    assert down["found_values"] == {"since": local(NOW - 3600).isoformat(), "reason": "connection_refused", "count": 1}
    for row in data["rows"]:
        assert set(row) == {
            "check",
            "status",
            "ids",
            "found",
            "todo",
            "found_key",
            "found_values",
            "todo_key",
            "todo_values",
        }


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("id", ("Siap libur?", "masalah", "Sertifikat kedaluwarsa", "Perbarui sertifikat sebelum", "s.d.")),
        (
            "en",
            ("Ready for the watch period?", "problems:", "The certificate expires", "Renew the certificate", " to "),
        ),
    ],
)
def test_every_format_reads_in_the_configured_language(
    checklist: Checklist, language: str, words: tuple[str, ...]
) -> None:
    for fmt in ("text", "md", "html"):
        out = render(checklist, fmt, language)
        for word in words:
            assert word in out, (fmt, word)
    table = render(checklist, "text", language, terminal=True)
    assert "layanan-03" in table and "\x1b[" in table  # coloured on a terminal
    assert "[monitor]" in table  # a finding's brackets are text, not markup
    assert "\x1b[" not in render(checklist, "text", language)  # plain otherwise


def test_the_plain_text_is_one_line_per_finding_and_one_per_todo(checklist: Checklist) -> None:
    lines = render(checklist, "text", "id").splitlines()
    assert lines[0] == f"Siap libur? {WATCH}"
    assert lines[1] == f"Periode: {shown(START)} s.d. {shown(END)} (Asia/Jakarta)"
    ok, warnings, problems = (checklist.count(s) for s in (Status.OK, Status.WARNING, Status.PROBLEM))
    assert lines[2] == f"{ok} ok, {warnings} peringatan, {problems} masalah"
    assert lines[4].startswith("MASALAH ")
    assert sum(1 for line in lines if line.startswith(("MASALAH", "PERINGATAN", "OK "))) == len(checklist.rows)


def test_the_markdown_is_one_table_row_per_finding(checklist: Checklist) -> None:
    md = render(checklist, "md", "en")
    body = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(body) == len(checklist.rows) + 1  # the header
    assert "layanan\\-03" in md or "layanan-03" in md


def test_the_html_is_balanced_and_printable(checklist: Checklist) -> None:
    html = render(checklist, "html", "id")
    checker = Checker()
    checker.feed(html)
    assert checker.errors == [] and checker.stack == []
    assert "@media print" in html and "size: A4" in html
    assert html.count('<tr class="pf-') == len(checklist.rows)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    need(CHROMIUM, "chromium")
    from playwright.async_api import async_playwright

    from tests.web.test_browser import ARGS

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        await chromium.close()


@pytest.mark.integration
@pytest.mark.parametrize("language", ["id", "en"])
async def test_the_html_renders_in_chromium_on_one_a4_page(tmp_path: Path, browser: Any, language: str) -> None:
    config = regency(tmp_path, language)
    await with_history(config)
    checklist = await build(config)
    path = tmp_path / "siap.html"
    path.write_text(render(checklist, "html", language), encoding="utf-8")
    page = await browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await page.goto(path.as_uri(), wait_until="load")
    assert problems == []
    assert await page.locator("tr.pf-problem").count() == checklist.count(Status.PROBLEM)
    pdf = await page.pdf(format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages == 1, f"{pages} A4 pages for {len(checklist.rows)} rows"
    await page.screenshot(path=str(tmp_path / "siap.png"), full_page=True)
    await page.close()
