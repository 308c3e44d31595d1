"""CSRF tokens: every write of a session sends its session's token back, in the
`X-CSRF-Token` header (scripts in the page) or the form's `csrf` field (plain forms).

The session cookie is SameSite=Strict already, so another site's form does not carry
it; the token is the second lock, for older browsers and for a sibling site under the
same registrable domain. Compared in constant time.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from starlette.requests import Request

HEADER = "x-csrf-token"
FIELD = "csrf"
FORM = "application/x-www-form-urlencoded"


def csrf_ok(request: Request, body: bytes, expected: str) -> bool:
    """Whether the request carries `expected` in the header or the form field."""
    given = request.headers.get(HEADER)
    if given is None and request.headers.get("content-type", "").split(";")[0].strip() == FORM:
        values = parse_qs(body.decode("utf-8", "replace")).get(FIELD, [])
        given = values[0] if values else None
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
