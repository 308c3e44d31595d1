"""A certificate's (or a domain's) warning says one number of days, in its headline and in
its detail, and never doubles the word when the target's name already says it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from monitor.alerting.policy import Policy
from monitor.assess import assess
from monitor.config import Config, NotifierConfig, Settings, Target
from monitor.notifiers.base import Alert
from monitor.notifiers.texts import Texts
from monitor.notifiers.webhook import WebhookSpec
from monitor.probes.domain import EXPIRY, DomainSpec
from monitor.result import Event, Result, State

NOW = 1_800_000_000.0
DAY = 86400.0
TEMPLATES = ("title.txt.j2", "text.txt.j2", "telegram.html.j2", "email.html.j2", "slack.md.j2", "discord.md.j2")


def config(target: Target) -> Config:
    hook = NotifierConfig("hook", "webhook", WebhookSpec(url="http://127.0.0.1:9/hook"))
    return Config(Path("targets.toml"), Settings(), {target.id: target}, {"hook": hook})


def web(name: str = "Portal layanan") -> Target:
    return Target("portal", name, "http", None, None, notify=("hook",), cert_warn_days=(30, 14, 7))


def warning(target: Target, result: Result, now: float, went_degraded: float | None = None) -> Alert:
    """The "cert" alert the policy raises at `now` from the assessed `result`, for a
    target that went DEGRADED (the expiry entering its window) at `went_degraded` (and
    had its warning then), or just now."""
    clock = [now if went_degraded is None else went_degraded]
    policy = Policy(config(target), clock=lambda: clock[0], last_result=lambda _: result)
    policy.on_event(Event(target.id, clock[0] - 600, State.UNKNOWN, State.UP, "ok"), target)
    entered = assess(target, result, now=clock[0])
    policy.on_event(Event(target.id, clock[0], State.UP, State.DEGRADED, entered.reason, entered.detail), target)
    if went_degraded is not None:
        policy.tick()
        clock[0] = now
    (out,) = [o for o in policy.tick() if o.alert.kind == "cert"]
    return out.alert


@pytest.mark.parametrize(("lang", "said"), [("id", "dalam 10 hari"), ("en", "in 10 days")])
def test_the_headline_and_the_detail_give_the_same_days(lang: str, said: str) -> None:
    target = web()
    expiry = NOW + 9.6 * DAY  # 9 days 14 hours: "10 days", wherever it is said
    result = assess(target, Result(True, started=NOW, cert_expiry=expiry), now=NOW)
    assert result.detail == "certificate expires in 10 days"
    # It went DEGRADED 30 days before the expiry (its event's detail: "expires in 30
    # days"); today's warning, the 14-day one, says 10 days in its headline and detail.
    alert = warning(target, result, NOW, went_degraded=expiry - 29.8 * DAY)
    assert (alert.cert_days, alert.detail, alert.reason) == (10, "certificate expires in 10 days", "cert_expiring")
    texts = Texts(lang, "Asia/Jakarta", "Status Pemkab")
    for template in TEMPLATES:
        text = texts.render(template, alert)
        assert said in texts.render("title.txt.j2", alert)
        assert "30 days" not in text and "9 hari" not in text and "9 days" not in text, template
        assert "certificate expires in 10 days" in text or template == "title.txt.j2", template


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_name_that_says_certificate_is_not_preceded_by_it_again(lang: str) -> None:
    target = web("Sertifikat portal")
    result = assess(target, Result(True, started=NOW, cert_expiry=NOW + 9.6 * DAY), now=NOW)
    alert = warning(target, result, NOW)
    texts = Texts(lang, "Asia/Jakarta", "Status Pemkab")
    headline = texts.render("title.txt.j2", alert)
    assert (
        headline
        == {"id": "🔐 Sertifikat portal kedaluwarsa dalam 10 hari", "en": "🔐 Sertifikat portal expires in 10 days"}[
            lang
        ]
    )
    for template in TEMPLATES:
        text = texts.render(template, alert).lower()
        assert "sertifikat sertifikat" not in text and "certificate of sertifikat" not in text, template
    plain = texts.render("title.txt.j2", dataclasses.replace(alert, name="Portal layanan"))
    assert (
        plain
        == {
            "id": "🔐 Sertifikat Portal layanan kedaluwarsa dalam 10 hari",
            "en": "🔐 Certificate of Portal layanan expires in 10 days",
        }[lang]
    )


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_domain_named_as_a_domain_is_not_called_a_domain_twice(lang: str) -> None:
    spec = DomainSpec("kotimkab.go.id", "https://rdap.pandi.id/rdap/", warn_days=(30, 7))
    target = dataclasses.replace(web("Domain kotimkab.go.id"), kind="domain", spec=spec)
    result = assess(target, Result(True, started=NOW, extra={EXPIRY: NOW + 6.8 * DAY}), now=NOW)
    assert result.detail == "domain registration expires in 7 days"
    alert = warning(target, result, NOW)
    assert (alert.cert_days, alert.detail) == (7, "domain registration expires in 7 days")
    headline = Texts(lang, "Asia/Jakarta", "Status Pemkab").render("title.txt.j2", alert)
    assert (
        headline
        == {
            "id": "📅 Domain kotimkab.go.id habis dalam 7 hari: segera perpanjang pendaftarannya",
            "en": "📅 Domain kotimkab.go.id expires in 7 days: renew its registration",
        }[lang]
    )
