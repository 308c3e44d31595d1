"""A `public = false` target's alerts never link to its public page (that page answers
404): through every notifier kind, what the receiver gets links to the target's row on
the admin view while the admin view is on, and nowhere while it is off. A public
target's alerts still link to its page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.alerting.policy import ADMIN_TOKEN_ENV, Policy
from monitor.alerting.service import build_notifiers, texts_for
from monitor.config import Config, NotifierConfig, Settings, Target
from monitor.notifiers import NOTIFIERS
from monitor.notifiers.alertmanager import AlertmanagerSpec
from monitor.notifiers.base import NotifyContext
from monitor.notifiers.discord import DiscordSpec
from monitor.notifiers.email import EmailSpec
from monitor.notifiers.slack import SlackSpec
from monitor.notifiers.telegram import TelegramSpec
from monitor.notifiers.webhook import WebhookSpec
from monitor.result import Event, State
from tests.alertkit import free_port, receiver
from tests.mailbox import Server

PUBLIC_URL = "https://status.example.go.id"
AT = 1_800_000_000.0


class Mailbox:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.bodies.append(" ".join(part.get_content() for part in message.walk() if not part.is_multipart()))
        return "250 Message accepted"


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Server(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def config(http: str, smtp_port: int) -> Config:
    specs: dict[str, tuple[str, object]] = {
        "hook": ("webhook", WebhookSpec(url=f"{http}/webhook", timeout=5.0)),
        "slack": ("slack", SlackSpec(url=f"{http}/slack", timeout=5.0)),
        "discord": ("discord", DiscordSpec(url=f"{http}/discord", timeout=5.0)),
        "telegram": ("telegram", TelegramSpec(bot_token="1:x", chat_id="-1", api_url=f"{http}/telegram")),
        "am": ("alertmanager", AlertmanagerSpec(url=f"{http}/alertmanager", timeout=5.0)),
        "mail": (
            "email",
            EmailSpec("127.0.0.1", "monitor@example.go.id", ("oncall@example.go.id",), smtp_port, "none"),
        ),
    }
    notifiers = {name: NotifierConfig(name, kind, spec) for name, (kind, spec) in specs.items()}
    names = tuple(notifiers)
    targets = {
        "router": Target("router", "Router Setda", "http", None, None, public=False, notify=names),
        "web": Target("web", "Website", "http", None, None, notify=names),
    }
    return Config(Path("targets.toml"), Settings(public_url=PUBLIC_URL), targets, notifiers)


async def received(admin: bool, tid: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What each notifier's receiver got for `tid`'s "down", by notifier type."""
    if admin:
        monkeypatch.setenv(ADMIN_TOKEN_ENV, "rahasia")
    else:
        monkeypatch.delenv(ADMIN_TOKEN_ENV, raising=False)
    with receiver() as rec, smtp_server() as (box, port):
        cfg = config(rec.url, port)
        assert {n.type for n in cfg.notifiers.values()} == set(NOTIFIERS)  # every kind
        (out,) = Policy(cfg, clock=lambda: AT).on_event(
            Event(tid, AT, State.UP, State.DOWN, "timeout"), cfg.targets[tid]
        )
        async with httpx.AsyncClient() as client:
            built = build_notifiers(cfg, NotifyContext(client, texts_for(cfg)))
            for name in out.notifiers:
                await built[name].send(out.alert)
        got = {r.path.split("/")[1]: r.body.decode() for r in rec.requests}
        got["email"] = box.bodies[0]
    return got


async def test_a_private_targets_alerts_link_to_its_row_on_the_admin_view(monkeypatch: pytest.MonkeyPatch) -> None:
    got = await received(True, "router", monkeypatch)
    assert set(got) == set(NOTIFIERS)
    for kind, body in got.items():
        assert "/targets/router" not in body, kind
        assert f"{PUBLIC_URL}/admin#target-router" in body, kind


async def test_a_private_targets_alerts_link_nowhere_while_the_admin_view_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    got = await received(False, "router", monkeypatch)
    assert set(got) == set(NOTIFIERS)
    for kind, body in got.items():
        assert PUBLIC_URL not in body, kind


async def test_a_public_targets_alerts_link_to_its_page(monkeypatch: pytest.MonkeyPatch) -> None:
    got = await received(True, "web", monkeypatch)
    for kind, body in got.items():
        assert f"{PUBLIC_URL}/targets/web" in body and "/admin" not in body, kind
