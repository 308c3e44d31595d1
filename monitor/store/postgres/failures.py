"""What went wrong with the PostgreSQL database, in the short words `StoreHealth.reason`
and the storage alert use, the same as the SQLite backend's where the failure is the
same ("disk full", "I/O error", "database corrupt", ...), plus the server's own:
"database unreachable" (down, restarting, the network cut, a failover under way)."""

from __future__ import annotations

import psycopg

from monitor.errors import StoreError

UNREACHABLE = "database unreachable"

# By SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_BY_STATE = {
    "53100": "disk full",  # disk_full: "could not extend file ... No space left on device"
    "53200": "out of memory",
    "53300": "too many connections",
    "58030": "I/O error",  # io_error
    "XX001": "database corrupt",  # data_corrupted
    "XX002": "database corrupt",  # index_corrupted
    "25006": "database read-only",  # a standby, or default_transaction_read_only
    "42501": "permission denied",
    "55P03": "database locked",  # lock_not_available (lock_timeout)
    "40P01": "database locked",  # deadlock_detected
    "57P01": UNREACHABLE,  # admin_shutdown: the session was terminated
    "57P02": UNREACHABLE,  # crash_shutdown
    "57P03": UNREACHABLE,  # cannot_connect_now: starting up, shutting down
}


def reason(exc: BaseException) -> str:
    """The short reason of a failed write, read or connection."""
    if isinstance(exc, StoreError) and exc.reason:
        return exc.reason
    state = getattr(exc, "sqlstate", None)
    if isinstance(state, str):
        if state in _BY_STATE:
            return _BY_STATE[state]
        if state.startswith("08"):  # connection_exception
            return UNREACHABLE
        if state.startswith("28"):  # invalid_authorization_specification: a wrong password
            return "authentication failed"
    if isinstance(exc, psycopg.OperationalError) and state is None:
        return UNREACHABLE  # no answer at all: refused, timed out, the connection lost
    if isinstance(exc, psycopg.InterfaceError):  # e.g. "the connection is closed"
        return UNREACHABLE
    return type(exc).__name__
