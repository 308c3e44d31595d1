"""The day bars: one SVG a row, a shape per level, a tooltip on each day worth a look."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.resources import templates_dir
from monitor.store import DayUptime, Uptime
from monitor.web.daybars import LETTERS, BarPainter, level, levels
from monitor.web.templating import Renderer

DAY = 86400.0
FIRST = date(2026, 6, 1)


def day(n: int, **figures: float) -> DayUptime:
    figures.setdefault("observed", DAY)
    return DayUptime(FIRST + timedelta(days=n), Uptime("web", 0.0, DAY, **figures))


KINDS = {
    "ok": {},
    "degraded": {"degraded": 600.0},
    "minor": {"down": 600.0},
    "major": {"down": 0.1 * DAY},
    "maintenance": {"observed": 0.0, "maintenance": 3600.0},
    "none": {"observed": 0.0},
}


@pytest.fixture
def painter() -> BarPainter:
    texts = Renderer(templates_dir()).texts("en", ZoneInfo("Asia/Jakarta"))
    return BarPainter(texts, "The last 6 days")


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_day_has_its_level_and_letter(kind: str) -> None:
    found = day(0, **KINDS[kind])
    assert level(found) == kind
    assert levels([found]) == LETTERS[kind]
    assert levels([None]) == "-" and level(None) == "none"  # a day still to come


def test_a_clean_row_is_one_path_and_its_summary(painter: BarPainter) -> None:
    days = [day(n) for n in range(6)]
    svg = painter.svg(days, levels(days))
    assert svg == (
        '<svg class="bars" viewBox="0 0 60 28" preserveAspectRatio="none" role="img">'
        "<title>The last 6 days: 6 of 6 days without downtime</title>"
        '<path class="ok" d="M0 0h60v28h-60z"/></svg>'
    )
    assert painter.svg(days, levels(days)) is svg  # made once a page


def test_each_day_worth_a_look_is_a_shape_of_its_own_with_its_tooltip(painter: BarPainter) -> None:
    days = [day(n, **KINDS[kind]) for n, kind in enumerate(KINDS)]
    svg = painter.svg(days, levels(days))
    assert re.findall(r'<path class="(\w+)" d="([^"]+)"/>', svg) == [
        ("ok", "M0 0h10v28h-10z"),
        ("none", "M50 0h10v28h-10z"),
    ]
    assert re.findall(r'<rect class="(\w+)" x="(\d+)" width="10" height="28"><title>([^<]+)</title></rect>', svg) == [
        ("degraded", "10", "2 Jun 2026: no downtime, degraded for 10 min"),
        ("minor", "20", "3 Jun 2026: down for 10 min"),
        ("major", "30", "4 Jun 2026: down for 2 h 24 min"),
        ("maintenance", "40", "5 Jun 2026: maintenance for 1 h"),
    ]
    summary = re.search(r"<title>([^<]+)</title><path", svg)
    assert summary is not None and summary.group(1) == (
        "The last 6 days: 1 of 6 days without downtime; 2 Jun 2026: no downtime, degraded for 10 min; "
        "3 Jun 2026: down for 10 min; 4 Jun 2026: down for 2 h 24 min; 5 Jun 2026: maintenance for 1 h; "
        "1 of 6 days without data"
    )


def test_days_still_to_come_are_drawn_grey_and_not_counted(painter: BarPainter) -> None:
    days = [day(0), day(1, down=60.0), None, None]
    svg = painter.svg(days, levels(days))
    assert '<path class="ok" d="M0 0h10v28h-10z"/><path class="none" d="M20 0h20v28h-20z"/>' in svg
    assert "The last 6 days: 1 of 2 days without downtime; 2 Jun 2026: down for 1 min</title>" in svg


def test_the_target_page_gives_every_day_its_tooltip() -> None:
    texts = Renderer(templates_dir()).texts("id", ZoneInfo("Asia/Jakarta"))
    every = BarPainter(texts, "Riwayat", every_day=True)
    days = [day(0), day(1, down=60.0), day(2, observed=0.0), None]
    svg = every.svg(days, levels(days))
    assert re.findall(
        r'<rect class="(\w+)" x="\d+" width="10" height="28">(?:<title>([^<]*)</title>)?</rect>', svg
    ) == [
        ("ok", "1 Jun 2026: tidak ada gangguan"),
        ("minor", "2 Jun 2026: gangguan 1 menit"),
        ("none", "3 Jun 2026: tidak ada data"),
        ("none", ""),
    ]
    assert "<path" not in svg
