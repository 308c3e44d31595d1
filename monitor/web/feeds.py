"""The Atom 1.0 feeds (RFC 4287): `GET /feed.atom` and `GET /targets/{id}/feed.atom`.

What a feed reader follows: the incidents (automatic and declared, each with its
updates), the planned maintenance (current and upcoming) and the announcements not yet
over, in the language of `?lang=` (the configured one by default; an operator's text
without English falls back to Indonesian). Built from the status snapshot, like the
page, so a crowd of readers costs no store reads; a target's feed reads its incidents
once per request. Only `Public*` values reach it: a private or unknown target's feed is
the not-found page.

Written with the jinja template `feed.atom.j2` (autoescaped, as every page: the XML
escaping of text and attributes) rather than a feed library: the document is one small
fixed shape, and a library would add a dependency to write a dozen elements.

Ids are `urn:uuid:` URIs, name-based (UUID version 5) in a namespace of this instance
(its `public_url`, else its title), so they stay the same across restarts: an incident's
from its public id, a banner's from its number, a maintenance window's from its span and
targets. Times are RFC 3339 in UTC; links are absolute, on `public_url` when it is set.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from monitor.store import Announcement, Wording
from monitor.web import viewmodels
from monitor.web.cache import current_snapshot
from monitor.web.compress import Page
from monitor.web.errorpages import not_found
from monitor.web.templating import language, renderer
from monitor.web.texts import LEVEL_WORDS, Texts

MEDIA_TYPE = "application/atom+xml; charset=utf-8"
TARGET_DAYS, TARGET_LIMIT = 90, 20  # a target feed's incidents


def routes() -> list[BaseRoute]:
    return [
        Route("/feed.atom", site_feed, methods=["GET"]),
        Route("/targets/{id}/feed.atom", target_feed, methods=["GET"]),
    ]


@dataclass(frozen=True, slots=True)
class Entry:
    """One `<entry>`: `kind` is incident, maintenance or announcement."""

    id: str
    kind: str
    title: str
    updated: float
    published: float
    link: str
    item: Any  # the PublicIncident, PublicMaintenance or Announcement shown
    title_lang: str | None = None  # the title's language when not the feed's (a fallback)


async def site_feed(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    snap = await current_snapshot(runtime, request.app.state)
    base, lang = _base(request, runtime), language(request, runtime.config)
    # Kept with the snapshot it shows, per language and base (as the status page).
    key = (lang, base)
    cache: dict[tuple[str, str], tuple[viewmodels.Snapshot, Page]] = getattr(request.app.state, "web_feeds", {})
    hit = cache.get(key)
    if hit is not None and hit[0] is snap and set(request.query_params) <= {"lang"}:
        return hit[1].response(request)
    page = _render(request, runtime, lang, base, None, snap.incidents, snap.maintenance, snap.announcements, snap.now)
    if set(request.query_params) <= {"lang"}:
        request.app.state.web_feeds = {**cache, key: (snap, page)}
    return page.response(request)


async def target_feed(request: Request) -> Response:
    runtime: viewmodels.Runtime = request.app.state.monitor
    target = viewmodels.public_target(runtime.config, request.path_params["id"])
    if target is None:
        return not_found(request)
    snap = await current_snapshot(runtime, request.app.state)
    now = snap.now
    incidents = await viewmodels.public_incidents(runtime, [target.id], now - TARGET_DAYS * 86400.0, now, TARGET_LIMIT)
    maintenance = [m for m in snap.maintenance if target in m.targets]
    base, lang = _base(request, runtime), language(request, runtime.config)
    page = _render(request, runtime, lang, base, target, incidents, maintenance, snap.announcements, now)
    return page.response(request)


def _render(
    request: Request,
    runtime: viewmodels.Runtime,
    lang: str,
    base: str,
    target: viewmodels.PublicTarget | None,
    incidents: Sequence[viewmodels.PublicIncident],
    maintenance: Sequence[viewmodels.PublicMaintenance],
    announcements: Sequence[Announcement],
    now: float,
) -> Page:
    config = runtime.config
    view = renderer(request)
    t = view.texts(lang, config.settings.zone)
    space = namespace(config.settings.public_url, config.settings.title)
    entries = [
        *(_incident(t, space, base, i) for i in incidents),
        *(_maintenance(t, space, base, m) for m in maintenance),
        *(_announcement(t, space, base, a) for a in announcements if a.active(now) or a.start > now),
    ]
    entries.sort(key=lambda e: e.updated, reverse=True)
    title = config.settings.title
    if target is None:
        feed_id, feed_title, page_url = f"feed/{lang}", t("feed.title", title=title), f"{base}/?lang={lang}"
        self_url = f"{base}/feed.atom?lang={lang}"
    else:
        tid = quote(target.id, safe="")
        feed_id, feed_title = f"feed/{target.id}/{lang}", t("feed.target_title", name=target.name, title=title)
        page_url, self_url = f"{base}/targets/{tid}?lang={lang}", f"{base}/targets/{tid}/feed.atom?lang={lang}"
    context: Mapping[str, Any] = {
        "t": t,
        "lang": lang,
        "id": entry_id(space, feed_id),
        "title": feed_title,
        "author": title,
        "page_url": page_url,
        "self_url": self_url,
        "updated": max((e.updated for e in entries), default=now),
        "entries": entries,
        "now": now,
    }
    return Page(view.render("feed.atom.j2", context).encode("utf-8"), MEDIA_TYPE)


def namespace(public_url: str | None, title: str) -> uuid.UUID:
    """This instance's namespace of entry ids: the same across restarts."""
    return uuid.uuid5(uuid.NAMESPACE_URL, public_url or f"urn:monitor:{title}")


def entry_id(space: uuid.UUID, name: str) -> str:
    return uuid.uuid5(space, name).urn


def _incident(t: Texts, space: uuid.UUID, base: str, item: viewmodels.PublicIncident) -> Entry:
    names = ", ".join(target.name for target in item.targets or (item.target,))
    title = item.title.in_language(t.lang) if item.title else t("feed.incident", names=names)
    link = f"{base}/targets/{quote(item.target.id, safe='')}?lang={t.lang}"
    key = entry_id(space, f"incident/{item.id}")
    return Entry(key, "incident", title, item.changed, item.start, link, item, _fallback(t, item.title))


def _maintenance(t: Texts, space: uuid.UUID, base: str, item: viewmodels.PublicMaintenance) -> Entry:
    names = ", ".join(target.name for target in item.targets)
    key = f"maintenance/{item.start}/{item.end}/{','.join(target.id for target in item.targets)}"
    title = t("feed.maintenance", names=names)
    return Entry(entry_id(space, key), "maintenance", title, item.start, item.start, f"{base}/?lang={t.lang}", item)


def _announcement(t: Texts, space: uuid.UUID, base: str, item: Announcement) -> Entry:
    title = t("feed.announcement", level=t(LEVEL_WORDS[item.level]), text=_first_line(item.text.in_language(t.lang)))
    updated = item.created or item.start  # when it was written
    link = f"{base}/?lang={t.lang}"
    key = entry_id(space, f"announcement/{item.id}")
    return Entry(key, "announcement", title, updated, item.start, link, item, _fallback(t, item.text))


def _fallback(t: Texts, text: Wording | None) -> str | None:
    """ "id" when `text` is shown in Indonesian in a feed of another language."""
    return "id" if text is not None and t.lang != "id" and not text.en else None


def _first_line(text: str, longest: int = 120) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= longest else line[: longest - 1] + "…"


def _base(request: Request, runtime: viewmodels.Runtime) -> str:
    """Where the pages are: `public_url`, else the address this request came to."""
    public = runtime.config.settings.public_url
    return public.rstrip("/") if public else str(request.base_url).rstrip("/")
