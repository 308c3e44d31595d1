"""A local fake of Telegram's Bot API on 127.0.0.1, for the chat bot's tests: the
notifier's and the bot's `api_url` point at it.

It keeps the updates a test queues (`push`) and answers `getUpdates` as Telegram does:
the updates from `offset` on (those before it are confirmed and forgotten), waiting up
to the request's `timeout` for one to arrive (long polling). Every call is recorded
(`calls`, as (method, payload)); `fail` holds (status, body) answers to give first, to
play Telegram refusing (409: another poller; 401: a wrong token)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "123456:bot-secret"


class FakeBotApi:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail: list[tuple[int, dict[str, Any]]] = []
        self.changed = threading.Condition()
        self.url = ""
        self._next_message = 100

    def push(self, update: dict[str, Any]) -> None:
        with self.changed:
            update.setdefault("update_id", (self.updates[-1]["update_id"] + 1) if self.updates else 1)
            self.updates.append(update)
            self.changed.notify_all()

    def payloads(self, method: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.calls if name == method]

    def answer(self, method: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.changed:
            self.calls.append((method, payload))
            if self.fail:
                return self.fail.pop(0)
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._updates(payload)}
        if method == "sendMessage":
            self._next_message += 1
            message = {"message_id": self._next_message, "chat": {"id": payload.get("chat_id")}}
            return 200, {"ok": True, "result": {**message, "text": payload.get("text")}}
        return 200, {"ok": True, "result": True}

    def _updates(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(payload.get("offset") or 0)
        with self.changed:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates:
                self.changed.wait(timeout=min(float(payload.get("timeout") or 0), 5.0))
            return [u for u in self.updates if u["update_id"] >= offset]


@contextmanager
def bot_api() -> Iterator[FakeBotApi]:
    fake = FakeBotApi()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length) or b"{}")
            prefix = f"/bot{TOKEN}/"
            if not self.path.startswith(prefix):
                status, body = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
            else:
                status, body = fake.answer(self.path.removeprefix(prefix), payload)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        with fake.changed:
            fake.changed.notify_all()
        server.shutdown()
        server.server_close()
