"""Admin accounts: `[admins.NAME]` with an argon2id `password_hash` and a `role`.

`hash_password` makes the hash `monitor passwd NAME` prints (argon2-cffi's defaults:
argon2id, RFC 9106's low-memory parameters, a random salt); `verify_password` checks a
password against it in the time argon2 takes, whatever the answer. `read_admin` is the
loader's reader of one `[admins.NAME]` table: a hash that is not argon2id, or that
argon2 cannot read, is a problem; the hash itself is never quoted in one.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

from monitor.config.model import ROLES, Admin
from monitor.config.reader import Table

_HASHER = PasswordHasher()  # argon2id by default
# A hash to verify against when the account does not exist, so that an unknown name
# takes as long to refuse as a wrong password.
_DUMMY = _HASHER.hash("no such account")


def hash_password(password: str) -> str:
    """The `password_hash` value for `password`."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash` (None: an unknown account, checked
    against a dummy hash so it costs the same)."""
    try:
        return _HASHER.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def read_admin(name: str, t: Table) -> Admin:
    """One `[admins.NAME]` table (see the module docstring)."""
    password_hash = t.require_text("password_hash")
    if password_hash:
        try:
            kind = extract_parameters(password_hash).type
        except (InvalidHashError, ValueError, IndexError):
            t.problem("password_hash", "is not an argon2 hash (make one with `monitor passwd NAME`)")
        else:
            if kind is not Type.ID:
                t.problem("password_hash", "must be an argon2id hash (make one with `monitor passwd NAME`)")
    role = t.text("role", "viewer")
    if role not in ROLES:
        t.problem("role", f"must be one of {', '.join(repr(r) for r in ROLES)}, not {role!r}")
        role = "viewer"
    t.finish()
    return Admin(name, password_hash, role)
