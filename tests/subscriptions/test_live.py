"""A citizen's whole subscription against the running monitor (`monitor run`'s app,
served by uvicorn, probing a real local TCP service): the form's POST, the confirmation
mail and its link, the outage and recovery mails as the service goes and comes back,
and the one-click unsubscribe of RFC 8058 from the mail's own header."""

from __future__ import annotations

import contextlib
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import LiveMonitor, live_monitor
from tests.mailbox import links, path_of, smtp_server
from tests.waiting import wait_for

ADDRESS = "warga@example.go.id"
TOKEN = "t0ken-admin-live"


@contextlib.contextmanager
def listening(port: int = 0) -> Iterator[int]:
    """A TCP service on loopback (the kernel accepts connections on its backlog)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(64)
        yield sock.getsockname()[1]


def post(live: LiveMonitor, path: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(live.url + path, data=body, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:  # it holds the answer's socket: closed here, not by the garbage collector
            return exc.code, exc.read().decode()


def subscribers(live: LiveMonitor) -> int:
    request = urllib.request.Request(live.url + "/admin/api/subscribers", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(json.load(answer)["count"])


def config_file(tmp_path: Path, smtp: int, service: int) -> Path:
    path = tmp_path / "targets.toml"
    path.write_text(f"""
[monitor]
title = "Status Kotim"
language = "id"
listen = "127.0.0.1:9"
data_dir = "data"
public_url = "https://status.example.go.id"

[subscriptions]
enabled = true
host = "127.0.0.1"
port = {smtp}
security = "none"
from = "status@example.go.id"

[targets.db]
name = "Basis data"
group = "Layanan"
url = "tcp://127.0.0.1:{service}"
interval = "1s"
timeout = "1s"
failure_threshold = 1
success_threshold = 1
""")
    return path


def test_a_citizen_subscribes_hears_of_an_outage_and_its_end_and_leaves_in_one_click(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", TOKEN)
    service = contextlib.ExitStack()
    port = service.enter_context(listening())
    with smtp_server() as (box, smtp), service, live_monitor(config_file(tmp_path, smtp, port)) as live:
        status, page = live.get("/?lang=en")
        assert status == 200 and 'action="/subscribe?lang=en"' in page
        assert post(live, "/subscribe?lang=en", f"email={ADDRESS}&targets=db".encode())[0] == 200
        wait_for(lambda: box.to(ADDRESS), 10, what="the confirmation mail")
        (confirm,) = links(box.to(ADDRESS)[0])
        assert live.get(path_of(confirm))[0] == 200
        assert subscribers(live) == 1
        service.close()  # the service goes away
        wait_for(lambda: len(box.to(ADDRESS)) >= 2, 15, what="the outage mail")
        with listening(port):
            wait_for(lambda: len(box.to(ADDRESS)) >= 3, 15, what="the recovery mail")
            down, up = box.to(ADDRESS)[1:3]
            assert (down["Subject"], up["Subject"]) == ("Outage: Basis data", "Back to normal: Basis data")
            header = up["List-Unsubscribe"]
            assert up["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            status, text = post(live, path_of(header.strip("<>")), b"List-Unsubscribe=One-Click")
            assert status == 200 and "You are unsubscribed" in text
            assert subscribers(live) == 0
