"""Compressed pages: br or gzip, as the client's `Accept-Encoding` asks, each coding of a
page made once.

The status page is rendered once per snapshot and language (`monitor.web.pages`); a
`Page` keeps its bytes with the snapshot, and each coding of them is made the first
time a client asks for it and kept with them, so a crowd costs one compression per
coding, not one per request. Every answer carries `Vary: Accept-Encoding`, so a cache
in front keeps the codings apart.
"""

from __future__ import annotations

import gzip

import brotli
from starlette.requests import Request
from starlette.responses import Response

# Measured on the status page of 1,000 targets (1.7 MB, tests/web/render_figure.py's
# history): br quality 4 makes 8 KB in about 4 ms, quality 11 7 KB in 350 ms; gzip's
# default level 6 makes 24 KB in about 6 ms, level 9 hardly less in twice the time.
BROTLI_QUALITY = 4
GZIP_LEVEL = 6
CODINGS = ("br", "gzip")  # in the order preferred when a client takes both alike


def negotiate(accept_encoding: str) -> str | None:
    """The coding to answer in: the one of `CODINGS` the client weighs highest (`q`),
    br on a tie; None for the plain body."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[name.strip().lower()] = weight
    if "x-gzip" in weights and "gzip" not in weights:
        weights["gzip"] = weights["x-gzip"]
    star = weights.get("*", 0.0)
    best, best_weight = None, 0.0
    for coding in CODINGS:
        weight = weights.get(coding, star)
        if weight > best_weight:
            best, best_weight = coding, weight
    return best


def compress(body: bytes, coding: str) -> bytes:
    if coding == "br":
        return bytes(brotli.compress(body, quality=BROTLI_QUALITY))
    return gzip.compress(body, GZIP_LEVEL, mtime=0)


class Page:
    """A rendered page and its compressed codings, made on first use and kept."""

    def __init__(self, body: bytes, media_type: str = "text/html; charset=utf-8", status_code: int = 200) -> None:
        self.body, self.media_type, self.status_code = body, media_type, status_code
        self._coded: dict[str, bytes] = {}

    def coded(self, coding: str) -> bytes:
        found = self._coded.get(coding)
        if found is None:
            found = self._coded[coding] = compress(self.body, coding)
        return found

    def response(self, request: Request) -> Response:
        coding = negotiate(request.headers.get("accept-encoding", ""))
        headers = {"Vary": "Accept-Encoding"}
        if coding is None:
            body = self.body
        else:
            body = self.coded(coding)
            headers["Content-Encoding"] = coding
        return Response(body, self.status_code, headers, media_type=self.media_type)
