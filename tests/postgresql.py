"""A real PostgreSQL for the tests, from Debian's `postgresql` package.

`PostgreSQL.start()` makes a cluster in a new temporary folder (`initdb`) and starts it
(`pg_ctl`) on a free loopback port, its socket in the same folder. PostgreSQL refuses to
run as root: under root the server runs as the system user `monitor-test` (created once
when missing), through `runuser`; otherwise as the user running the tests. The superuser
has a password (scram-sha-256 over TCP), so the URLs the tests use carry one, as a
user's do. Durability is off (`fsync`, `synchronous_commit`): a test cluster is thrown
away.

`template()` is a database migrated to the monitor's schema once; `create_database()`
copies it (`CREATE DATABASE ... TEMPLATE`), which is much faster than migrating again.
`pg_stat_statements` is loaded so that tests can count the statements a store sent.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

from tests.integration import need

USER = "monitor-test"  # the system user the server runs as under root
TEMPLATE = "monitor_template"


def binaries() -> Path:
    """The newest installed PostgreSQL's bin folder (skips/fails without the package)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    pg_ctl = need(found[-1] if found else "pg_ctl", "postgresql")
    return Path(pg_ctl).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgreSQL:
    """One throw-away cluster; see the module doc."""

    def __init__(self) -> None:
        self.bin = binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.user = USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self.password = secrets.token_urlsafe(12)
        self._template_ready = False
        self._options = ""

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://{self.user}:{secret}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        if os.geteuid() == 0:
            _ensure_user()
            shutil.chown(self.folder, USER, USER)
        pwfile = self.folder / "pw"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, USER, USER)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            self.user,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-instructions",
        )
        options = " ".join(
            f"-c {option}"
            for option in (
                "listen_addresses=127.0.0.1",
                f"port={self.port}",
                f"unix_socket_directories={self.folder}",
                "fsync=off",
                "synchronous_commit=off",
                "full_page_writes=off",
                "shared_preload_libraries=pg_stat_statements",
                "max_connections=200",
            )
        )
        self._options = options
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options, "-w", "start")

    def halt(self) -> None:
        """Stop the server and keep its data (`resume` starts it again): an outage."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start the halted server again, on the same port and data."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", self._options, "-w", "start")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", USER, "--", *command]
        done = subprocess.run(command, cwd=self.folder, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr or done.stdout}")

    @contextlib.contextmanager
    def admin(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """An autocommit superuser connection to the `postgres` database."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            yield conn

    def template(self) -> str:
        """The name of the migrated template database (made on first use)."""
        if not self._template_ready:
            from monitor.store.postgres.schema import migrate_url

            with self.admin() as conn:
                conn.execute(f"CREATE DATABASE {TEMPLATE}")
            with psycopg.connect(self.url(TEMPLATE), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            migrate_url(self.url(TEMPLATE))
            self._template_ready = True
        return TEMPLATE

    def create_database(self, migrated: bool = True, tablespace: str | None = None) -> str:
        """A new database (a copy of the migrated template, or empty), in `tablespace`
        if given; its URL."""
        name = f"test_{secrets.token_hex(6)}"
        with self.admin() as conn:
            template = self.template() if migrated else "template0"
            where = f" TABLESPACE {tablespace}" if tablespace else ""
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}{where}")
        return self.url(name)

    def refuse(self, url: str) -> None:
        """Make a database unreachable, as a stopped server or a cut network would: new
        sessions refused, those open cut."""
        name = url.rsplit("/", 1)[1]
        with self.admin() as conn:
            conn.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))

    def accept(self, url: str) -> None:
        """Reachable again (after `refuse`)."""
        with self.admin() as conn:
            conn.execute(f"ALTER DATABASE {url.rsplit('/', 1)[1]} ALLOW_CONNECTIONS true")

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _ensure_user() -> None:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
            check=True,
            capture_output=True,
        )
