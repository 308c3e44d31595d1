"""The database URL as messages may show it: never its password.

`store = "postgresql://user:secret@host:5432/db?sslmode=require"` is shown as
`postgresql://user@host:5432/db`; a password given as a query parameter
(`?password=...`) is dropped with every other parameter. `postgres://` is accepted
as the same scheme, as libpq accepts it.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

SCHEMES = ("postgresql", "postgres")


def redacted(url: str) -> str:
    """`url` without its password and query; a URL that does not parse is not shown."""
    try:
        parts = urlsplit(url.strip())
        user = unquote(parts.username or "")
        netloc = parts.netloc.rpartition("@")[2]
        path = parts.path
    except ValueError:
        return "postgresql://(a URL that does not parse)"
    who = f"{user}@" if user else ""
    return f"{parts.scheme}://{who}{netloc}{path}"
