"""Login sessions of the admin UI, kept in memory.

A session is a random 256-bit id in an HttpOnly, SameSite=Strict cookie (`COOKIE`),
Secure when the request came over HTTPS (as uvicorn reports it, trusting a proxy's
`X-Forwarded-Proto` only from the addresses it trusts) or `[monitor] public_url` is
https. It carries the CSRF token every write of the session must send back (`csrf`).

Sessions live in the process: a restart logs everyone out, cleanly (the next request
is sent to the login page). A session that survived a restart would need its secret in
the store, and a stolen cookie would live as long; logging in again after a restart is
cheap. A session also ends after `IDLE` seconds unused, after `LONGEST` seconds in all,
at logout, and as soon as its account's `password_hash` changes or the account goes
from the file (checked on every request, so a removed admin is out at the next reload);
its role is always the file's current one. The admin pages also end an account's
sessions themselves when they delete it or reset its password (`end_account`), keeping
the session of whoever reset their own password (`rehash`).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from monitor.config import Admin, Config

COOKIE = "monitor_session"
IDLE = 8 * 3600.0
LONGEST = 7 * 86400.0
MAX_SESSIONS = 1000


@dataclass
class Session:
    """One logged-in person: who, the hash they logged in with, their CSRF token."""

    id: str = field(repr=False)
    name: str
    password_hash: str = field(repr=False)
    csrf: str = field(repr=False)
    created: float
    seen: float


class Sessions:
    """The sessions of one app (`app.state.admin_sessions`)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._by_id: dict[str, Session] = {}

    def start(self, admin: Admin) -> Session:
        now = self.clock()
        self._expire(now)
        if len(self._by_id) >= MAX_SESSIONS:
            del self._by_id[min(self._by_id, key=lambda k: self._by_id[k].seen)]
        session = Session(
            secrets.token_urlsafe(32), admin.name, admin.password_hash, secrets.token_urlsafe(32), now, now
        )
        self._by_id[session.id] = session
        return session

    def find(self, session_id: str, config: Config) -> tuple[Session, Admin] | None:
        """The live session `session_id` and its account as the file has it now."""
        session = self._by_id.get(session_id)
        if session is None:
            return None
        now = self.clock()
        admin = config.admins.get(session.name)
        stale = now - session.seen > IDLE or now - session.created > LONGEST
        if stale or admin is None or not hmac.compare_digest(admin.password_hash, session.password_hash):
            del self._by_id[session_id]
            return None
        session.seen = now
        return session, admin

    def end(self, session_id: str) -> None:
        self._by_id.pop(session_id, None)

    def end_account(self, name: str, keep: str | None = None) -> None:
        """End every session of account `name` but `keep` (a session id)."""
        for key in [k for k, s in self._by_id.items() if s.name == name and k != keep]:
            del self._by_id[key]

    def rehash(self, session_id: str, password_hash: str) -> None:
        """Session `session_id` goes on under its account's new `password_hash`."""
        session = self._by_id.get(session_id)
        if session is not None:
            session.password_hash = password_hash

    def _expire(self, now: float) -> None:
        for key in [k for k, s in self._by_id.items() if now - s.seen > IDLE or now - s.created > LONGEST]:
            del self._by_id[key]


def sessions_of(state: object) -> Sessions:
    """The app's `Sessions`, made on first use."""
    found = getattr(state, "admin_sessions", None)
    if not isinstance(found, Sessions):
        found = Sessions()
        setattr(state, "admin_sessions", found)  # noqa: B010
    return found
