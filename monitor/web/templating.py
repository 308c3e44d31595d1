"""Rendering the web pages: one jinja2 environment per app, autoescaping everything.

The environment and the text catalog are built on first use and kept on the app's
state (not in a module global), so each app, and each test, has its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from monitor.config import Config
from monitor.resources import templates_dir
from monitor.texts import LANGUAGES, load_catalog
from monitor.web.graphics import ICONS, OVERALL_ICONS
from monitor.web.texts import LEVEL_WORDS, STATUS_WORDS, Texts


class Renderer:
    """The page templates of `templates/` and the text catalogue of `templates/texts/`."""

    def __init__(self, directory: Path) -> None:
        self.env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=True,  # every template here is HTML or SVG
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self.env.filters["isotime"] = isotime
        self.env.globals["icons"] = ICONS
        self.env.globals["overall_icons"] = OVERALL_ICONS
        self.env.globals["status_words"] = STATUS_WORDS
        self.env.globals["level_words"] = LEVEL_WORDS
        self.catalog = load_catalog(directory)

    def texts(self, lang: str, zone: ZoneInfo) -> Texts:
        return Texts(self.catalog, lang, zone)

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        return self.env.get_template(name).render(context)


def isotime(at: float) -> str:
    """A unix time as ISO 8601 in UTC (`<time datetime=...>`, the JSON API)."""
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def renderer(request: Request) -> Renderer:
    """This app's renderer, built on first use."""
    state = request.app.state
    found: Renderer | None = getattr(state, "web_renderer", None)
    if found is None:
        found = state.web_renderer = Renderer(templates_dir())
    return found


def language(request: Request, config: Config) -> str:
    """`?lang=id|en`, else the configured language."""
    lang = request.query_params.get("lang", "")
    return lang if lang in LANGUAGES else config.settings.language


def with_lang(request: Request, lang: str) -> str:
    """This page's path and query with `lang` set: the language switch's links."""
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    query["lang"] = lang
    return f"{request.url.path}?{urlencode(query)}"


def page(
    request: Request,
    name: str,
    config: Config,
    build: Callable[[Texts], Mapping[str, Any]],
    status_code: int = 200,
) -> HTMLResponse:
    """Render `name` in the request's language: `build(texts)` gives the page's context,
    added to the common context of `base.html.j2`."""
    lang = language(request, config)
    view = renderer(request)
    texts = view.texts(lang, config.settings.zone)
    common = {
        "lang": lang,
        "t": texts,
        "title": config.settings.title,
        "zone": config.settings.timezone,
        "switch": {code: with_lang(request, code) for code in LANGUAGES},
    }
    html = view.render(name, {**common, **build(texts)})
    return HTMLResponse(html, status_code=status_code)
