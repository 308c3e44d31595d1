"""A small office's monitor for the admin UI tests: a real `targets.toml` with the
admin's comments on disk, three accounts (one per role), a real local website to
probe, the real `Monitor` with its SQLite store, and the app around it.

The password hashes are argon2id with small costs, so a login takes milliseconds: the
loader and the login accept any argon2id hash, as `monitor passwd` makes them or not.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher
from starlette.applications import Starlette

from monitor.config.loader import load_config
from monitor.runtime import Monitor
from monitor.store.registry import open_store
from monitor.web import create_app

PASSWORD = "kata-sandi-panjang"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Website:
    """A local website counting the requests of each path; `/down` answers 503."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits[self.path] = hits.get(self.path, 0) + 1
                status = 503 if self.path == "/down" else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def office_toml(site: str, interval: str = "1s", timeout: str = "900ms", extra: str = "", monitor: str = "") -> str:
    accounts = "".join(
        f'[admins.{name}]\npassword_hash = "{CHEAP.hash(PASSWORD)}"\nrole = "{role}"\n\n'
        for name, role in (("siti", "admin"), ("budi", "operator"), ("tamu", "viewer"))
    )
    return f"""# Pemantauan kantor: diedit tangan DAN lewat UI.
[monitor]
title = "Status Layanan"   # judul halaman
language = "en"
data_dir = "."
{monitor}
{accounts}# --- layanan publik ---
[targets.portal]
name = "Portal"        # nama di halaman status
url = "{site}/portal"  # jangan diubah
interval = "{interval}"
timeout = "{timeout}"

[targets.mail]   # server surel
url = "{site}/mail"
interval = "{interval}"
timeout = "{timeout}"
{extra}"""


@dataclass
class Office:
    path: Path
    site: Website
    monitor: Monitor
    app: Starlette
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self, host: str = "127.0.0.1", **kw: Any) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(host, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver", **kw)
        self.clients.append(client)
        return client

    async def login(self, name: str, host: str = "127.0.0.1") -> tuple[httpx.AsyncClient, str]:
        """A client logged in as `name`, and its CSRF token."""
        client = self.client(host)
        response = await client.post("/admin/login", data={"username": name, "password": PASSWORD})
        assert response.status_code == 303, response.text
        page = await client.get("/admin/targets")
        return client, csrf_of(page.text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def version_of(html: str) -> str:
    found = re.search(r'name="_version" value="([^"]+)"', html)
    assert found is not None, "no _version field on the form"
    return found.group(1)


@contextlib.asynccontextmanager
async def office(
    tmp_path: Path,
    interval: str = "1s",
    start: bool = True,
    timeout: str = "900ms",
    extra: str = "",
    settings: str = "",
) -> AsyncIterator[Office]:
    """The office's monitor; `extra` is more of the file (`{site}` in it: the website),
    `settings` more lines of its `[monitor]` table."""
    site = Website()
    path = tmp_path / "targets.toml"
    path.write_text(
        office_toml(site.url, interval, timeout, extra.replace("{site}", site.url), settings), encoding="utf-8"
    )
    config = load_config(path)
    monitor = Monitor(config, open_store(config.settings))
    if start:
        await monitor.start()
    else:
        await monitor.store.open()
    here = Office(path, site, monitor, create_app(monitor))
    try:
        yield here
    finally:
        for client in here.clients:
            await client.aclose()
        if start:
            await monitor.stop()
        else:
            await monitor.store.close()
        site.close()
