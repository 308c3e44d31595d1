"""What went wrong with the SQLite file, in the short words `StoreHealth.reason` and the
storage alert use: "disk full", "I/O error", "database corrupt", ..."""

from __future__ import annotations

import errno
import sqlite3

# By SQLite's primary result code (the low byte of an extended one).
_BY_CODE = {
    sqlite3.SQLITE_FULL: "disk full",
    sqlite3.SQLITE_IOERR: "I/O error",
    sqlite3.SQLITE_CORRUPT: "database corrupt",
    sqlite3.SQLITE_NOTADB: "database corrupt",
    sqlite3.SQLITE_BUSY: "database locked",
    sqlite3.SQLITE_LOCKED: "database locked",
    sqlite3.SQLITE_READONLY: "database read-only",
    sqlite3.SQLITE_CANTOPEN: "cannot open the database",
    sqlite3.SQLITE_PERM: "permission denied",
}
_BY_ERRNO = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk full", errno.EIO: "I/O error", errno.EROFS: "read-only"}


def reason(exc: BaseException) -> str:
    """The short reason of a failed write or open."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _BY_CODE:
        return _BY_CODE[code & 0xFF]
    if isinstance(exc, OSError) and exc.errno in _BY_ERRNO:
        return _BY_ERRNO[exc.errno]
    return type(exc).__name__
