"""The public pages: the status page (`GET /`) and a target's page (`GET /targets/{id}`).

Both render `Public*` values from `monitor.web.viewmodels` only; a private or unknown
target's page is the not-found page, the same for both so the private one is not revealed.
Both are sent compressed when the client takes it (`monitor.web.compress`); the status
page's bytes, and each coding of them, are kept with the snapshot they show, per language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from monitor.result import State
from monitor.store import ANNOUNCEMENT_LEVELS, Announcement, Uptime
from monitor.web import viewmodels
from monitor.web.cache import current_snapshot
from monitor.web.compress import Page
from monitor.web.daybars import BarPainter, level, levels
from monitor.web.errorpages import not_found
from monitor.web.graphics import ICONS, Line, latency_chart, sparkline
from monitor.web.locations import target_locations
from monitor.web.templating import language, page
from monitor.web.texts import Texts

PHONE_DAYS = 30
# A group longer than this is folded while every target in it is operational (its
# summary still counts them); it opens by itself as soon as one is not.
FOLD_OVER = 10
# The banner for "some services are degraded" when every degraded target has one reason.
DEGRADED_BANNERS = {
    "slow": "overall.slow",
    "too_slow": "overall.slow",
    "cert_expiring": "overall.expiring",
    "domain_expiring": "overall.expiring",
}


def routes() -> list[BaseRoute]:
    return [
        Route("/", status_page, methods=["GET"]),
        Route("/targets/{id}", target_page, methods=["GET"]),
    ]


async def status_page(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    snap = await current_snapshot(runtime, request.app.state)
    # The rendered page is kept with the snapshot it shows, one per language (only for
    # plain `/?lang=..` requests, so odd query strings cannot fill the cache).
    cacheable = set(request.query_params) <= {"lang"}
    key = language(request, runtime.config)
    cache: dict[str, tuple[viewmodels.Snapshot, Page]] = getattr(request.app.state, "web_pages", {})
    hit = cache.get(key) if cacheable else None
    if hit is not None and hit[0] is snap:
        return hit[1].response(request)
    html = page(request, "status.html.j2", runtime.config, lambda t: status_context(snap, t))
    rendered = Page(bytes(html.body))
    if cacheable:
        request.app.state.web_pages = {**cache, key: (snap, rendered)}
    return rendered.response(request)


def status_context(snap: viewmodels.Snapshot, t: Texts) -> Mapping[str, Any]:
    """The status template's context: the snapshot laid out by group, in words."""
    watch, now = snap.watch, snap.now
    if watch is not None:
        caption = t("page.watch_bar")
        # The bars are local calendar days, the last one the day before an end at
        # midnight; a phone shows the last PHONE_DAYS bars only (see base.html.j2).
        first = t.local(watch.start).date()
        phone_first = first + timedelta(days=max(0, watch.days - PHONE_DAYS))
        axis = (t.date(first), t.date(phone_first), t.date(first + timedelta(days=watch.days - 1)))
        days = watch.days
    else:
        caption = t("page.days_bar", days=viewmodels.BAR_DAYS)
        axis = (
            t("page.days_ago", n=viewmodels.BAR_DAYS),
            t("page.days_ago", n=PHONE_DAYS),
            t("page.today"),
        )
        days = viewmodels.BAR_DAYS
    rows = RowPainter(t, BarPainter(t, caption), axis)
    statuses = [row.status for row in snap.rows]
    overall = viewmodels.overall(statuses)
    open_incidents = [i for i in snap.incidents if i.end is None]
    return {
        "now": now,
        "overall": overall,
        "banner": t(banner_key(overall, statuses)),
        "uplink": snap.uplink,
        "watch": watch,
        "groups": by_group(snap.rows, rows, t),
        "open_incidents": open_incidents,
        "recent_incidents": [i for i in snap.incidents if i.end is not None],
        "no_recent": t(
            "page.no_other_incidents" if open_incidents else "page.no_recent_incidents", days=viewmodels.RECENT_DAYS
        ),
        "announcements": active(snap.announcements, now),
        "maintenance_now": [m for m in snap.maintenance if m.start <= now],
        "maintenance_next": [m for m in snap.maintenance if m.start > now],
        "days": days,
        "phone_zoom": phone_zoom(days),
    }


def active(banners: Sequence[Announcement], now: float) -> list[Announcement]:
    """The banners to show at `now`, most severe first, then by start."""
    shown = [b for b in banners if b.active(now)]
    return sorted(shown, key=lambda b: (-ANNOUNCEMENT_LEVELS.index(b.level), b.start))


def phone_zoom(days: int) -> str:
    """How much wider than the card the bars are drawn on a phone, which shows the last
    PHONE_DAYS of them (base.html.j2)."""
    return f"{max(1.0, days / PHONE_DAYS):.4g}"


def banner_key(overall: str, statuses: Sequence[viewmodels.PublicStatus]) -> str:
    """The banner's text: "some services are degraded" says why when every degraded
    target has the same kind of reason (slow; a certificate or domain expiring)."""
    if overall == "degraded":
        found = {DEGRADED_BANNERS.get(s.reason) for s in statuses if s.state == State.DEGRADED}
        if len(found) == 1 and None not in found:
            return str(found.pop())
    return f"overall.{overall}"


class RowPainter:
    """Writes the status page's rows for one page in one language.

    A row is markup written here rather than in status.html.j2 (as the day bars are in
    `monitor.web.daybars`): a thousand rows through a template's expressions cost more
    than the whole page may. Rows share most of their pieces (states, check times to the
    minute, uptime figures), each worded once a page. Every text from the configuration
    or the catalogue is escaped here."""

    def __init__(self, t: Texts, bars: BarPainter, axis: tuple[str, str, str]) -> None:
        self.t, self.bars = t, bars
        self._checked: dict[int, str] = {}
        self._uptimes: dict[tuple[float | None, ...], str] = {}
        self._badges: dict[str, str] = {}
        self._latency = lru_cache(maxsize=4096)(t.latency)
        self._uptime_label = escape(t("page.uptime"))
        wide, narrow, last = (escape(a) for a in axis)
        self._axis = (
            f'<div class="axis" aria-hidden="true"><span><span class="wide">{wide}</span>'
            f'<span class="narrow">{narrow}</span></span><span>{last}</span></div>'
        )

    def row(self, row: viewmodels.Row) -> str:
        """The row's `<li>`, escaped."""
        s, t = row.status, self.t
        note = self.checked(s.last_checked)
        if s.reason:
            note = f"{t.reason(s.reason)} · {note}"
        href = f"/targets/{quote(s.target.id, safe='')}?lang={t.lang}"
        spark = self.spark(row.spark if row.spark is not None else sparkline(row.latency))
        bars = self.bars.svg(row.days, row.levels or levels(row.days))
        return (
            f'<li class="card target">\n<div><a class="name" href="{href}">{escape(s.target.name)}</a>\n'
            f'<div class="meta">{escape(note)}</div></div>\n<div>{self.badge(s.state.value)}</div>\n'
            f'<dl class="uptime" aria-label="{self._uptime_label}">{self.uptime(row.uptime)}</dl>\n{spark}\n'
            f'<div class="barbox">{bars}</div>\n{self._axis}\n</li>\n'
        )

    def checked(self, at: float | None) -> str:
        if not at:
            return self.t("page.never_checked")
        minute = int(at // 60)
        found = self._checked.get(minute)
        if found is None:
            found = self._checked[minute] = self.t("page.last_checked", time=self.t.time(minute * 60))
        return found

    def uptime(self, windows: Mapping[str, Uptime | None]) -> str:
        ratios = tuple(u.ratio if u else None for u in windows.values())
        found = self._uptimes.get(ratios)
        if found is None:
            items = (
                f"<div><dt>{escape(w)}</dt><dd>{escape(self.t.percent(r))}</dd></div>"
                for w, r in zip(windows, ratios, strict=True)
            )
            found = self._uptimes[ratios] = "".join(items)
        return found

    def badge(self, state: str) -> str:
        """The state as an icon and a word."""
        found = self._badges.get(state)
        if found is None:
            found = self._badges[state] = (
                f'<span class="state s-{state}"><span class="icon" aria-hidden="true">{ICONS[state]}</span>'
                f"{escape(self.t.state(state))}</span>"
            )
        return found

    def spark(self, line: Line | None) -> str:
        if line is None:
            return "<span></span>"
        t = self.t
        span = t("page.latency_range", min=self._latency(round(line.low, 3)), max=self._latency(round(line.high, 3)))
        label = escape(f"{t('page.latency')}: {span}")
        lone = ' class="lone"' if line.lone else ""
        return (
            f'<svg class="spark" viewBox="0 0 {line.width} {line.height}" preserveAspectRatio="none" role="img" '
            f'aria-label="{label}"><polyline{lone} points="{line.points}"/></svg>'
        )


@dataclass(frozen=True, slots=True)
class GroupView:
    """A group of rows; `folded` when it is long and every target in it is operational."""

    name: str
    rows: Markup  # the rows' `<li>`s (RowPainter)
    summary: str  # how many targets, and how many in each state
    folded: bool


def by_group(rows: Sequence[viewmodels.Row], painter: RowPainter, t: Texts) -> list[GroupView]:
    """Rows grouped in the order groups first appear in the configuration."""
    groups: dict[str, list[viewmodels.Row]] = {}
    for row in rows:
        groups.setdefault(row.status.target.group, []).append(row)
    shown = []
    for name, members in groups.items():
        counts: dict[State, int] = {}
        for row in members:
            counts[row.status.state] = counts.get(row.status.state, 0) + 1
        states = ", ".join(t("page.group_state", n=n, state=t.state(s.value)) for s, n in counts.items())
        summary = f"{t('page.group_count', n=len(members))}: {states}"
        folded = len(groups) > 1 and len(members) > FOLD_OVER and set(counts) == {State.UP}
        shown.append(GroupView(name, Markup("".join([painter.row(row) for row in members])), summary, folded))
    return shown


async def target_page(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    target = viewmodels.public_target(runtime.config, request.path_params["id"])
    if target is None:
        return not_found(request)
    chosen = request.query_params.get("range", "24h")
    chosen = chosen if chosen in viewmodels.RANGES else "24h"
    now = viewmodels.clock(request.app.state)
    detail = await viewmodels.target_detail(runtime, target, now - viewmodels.RANGES[chosen], now)
    days = await viewmodels.target_days(runtime, target, now)
    banners = active(await runtime.store.announcements(now), now)

    def build(t: Texts) -> Mapping[str, Any]:
        caption = t("page.watch_bar") if days.watch else t("page.days_bar", days=viewmodels.BAR_DAYS)
        painter = BarPainter(t, caption, every_day=True)
        return {
            "now": now,
            "target": target,
            "detail": detail,
            "chart": latency_chart(detail.series),
            "ranges": list(viewmodels.RANGES),
            "chosen": chosen,
            "bars": painter.svg(days.days, levels(days.days)),
            "days": [(level(d), painter.title(d)) for d in reversed(days.days) if d is not None],
            "bar_caption": caption,
            "day_count": len(days.days),
            "phone_zoom": phone_zoom(len(days.days)),
            "announcements": banners,
            "locations": target_locations(runtime, target.id),
        }

    html = page(request, "target.html.j2", runtime.config, build)
    return Page(bytes(html.body)).response(request)
