"""The domain kind against a local RDAP server (RFC 9083 answers on loopback, reached
through `rdap_url`): expiring soon, far, expired, unknown (404), an error (500), garbage,
no expiration event, silence; the at-most-every-6-hours lookup with an injected clock;
and the bootstrap file shipped with the package."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.assess import assess
from monitor.config import Target
from monitor.errors import ConfigError
from monitor.probes import PROBES
from monitor.probes.base import ProbeContext
from monitor.probes.domain import EXPIRY, LOOKUP_EVERY, RETRY_EVERY, DomainBook, DomainSpec
from monitor.probes.rdap import Bootstrap
from monitor.probes.tlsutil import TlsContextCache
from monitor.result import Reason, Result
from tests.probes.configfile import Load, loader
from tests.probes.servers import HttpServer, Request

DAY = 86400.0
START = 1_800_000_000.0  # the injected clock's start; every date below is counted from it


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def config_from(tmp_path: Path) -> Load:
    return loader(tmp_path)


def rdap_answer(name: str, expires: float | None) -> bytes:
    """A registry's RDAP domain object (RFC 9083 §5.3), as PANDI's service answers."""
    events = [{"eventAction": "registration", "eventDate": "2009-03-02T00:00:00Z"}]
    if expires is not None:
        stamp = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        events.append({"eventAction": "expiration", "eventDate": stamp})
    events.append({"eventAction": "last changed", "eventDate": "2026-03-01T04:05:06Z"})
    document = {
        "rdapConformance": ["rdap_level_0"],
        "objectClassName": "domain",
        "ldhName": name.upper(),
        "status": ["active"],
        "events": events,
    }
    return json.dumps(document).encode()


def registry(server: HttpServer, name: str, expires: float | None) -> None:
    server.reply(f"/rdap/domain/{name}", 200, rdap_answer(name, expires), {"Content-Type": "application/rdap+json"})


def domain_target(config_from: Load, server: HttpServer, name: str, extra: str = "") -> Target:
    text = f'[targets.d]\nurl = "domain://{name}"\nrdap_url = "{server.url("/rdap/")}"\ntimeout = "1s"\n{extra}'
    return config_from(text).targets["d"]


async def probe(target: Target, book: DomainBook) -> Result:
    return await PROBES["domain"].probe(target, ProbeContext(tls=TlsContextCache(), domains=book))


async def test_a_domain_far_from_expiry_is_up_with_its_expiry(config_from: Load, server: HttpServer) -> None:
    registry(server, "kotimkab.go.id", START + 400 * DAY)
    target, clock = domain_target(config_from, server, "kotimkab.go.id"), Clock()
    result = assess(target, await probe(target, DomainBook(clock)), now=clock.now)
    assert (result.ok, result.degraded, result.reason) == (True, False, Reason.OK)
    assert result.extra[EXPIRY] == START + 400 * DAY
    assert result.detail == f"registered until {datetime.fromtimestamp(START + 400 * DAY, UTC):%Y-%m-%d} (in 400 days)"
    assert server.requests[0].path == "/rdap/domain/kotimkab.go.id"
    assert server.requests[0].headers["accept"].startswith("application/rdap+json")


async def test_it_follows_an_rdap_redirect(config_from: Load, server: HttpServer) -> None:
    server.reply("/rdap/domain/kotimkab.go.id", 301, headers={"Location": server.url("/v2/domain/kotimkab.go.id")})
    server.reply("/v2/domain/kotimkab.go.id", 200, rdap_answer("kotimkab.go.id", START + 100 * DAY))
    result = await probe(domain_target(config_from, server, "kotimkab.go.id"), DomainBook(Clock()))
    assert result.ok and result.extra[EXPIRY] == START + 100 * DAY


async def test_a_domain_inside_warn_days_is_degraded(config_from: Load, server: HttpServer) -> None:
    registry(server, "kotimkab.go.id", START + 10 * DAY)
    target, clock = domain_target(config_from, server, "kotimkab.go.id"), Clock()
    result = assess(target, await probe(target, DomainBook(clock)), now=clock.now)
    assert (result.ok, result.degraded, result.reason) == (True, True, Reason.DOMAIN_EXPIRING)
    assert result.detail == "domain registration expires in 10 days"


async def test_a_lapsed_domain_is_domain_expired(config_from: Load, server: HttpServer) -> None:
    registry(server, "kotimkab.go.id", START - 3 * DAY)
    target, clock = domain_target(config_from, server, "kotimkab.go.id"), Clock()
    result = assess(target, await probe(target, DomainBook(clock)), now=clock.now)
    assert (result.ok, result.reason) == (False, Reason.DOMAIN_EXPIRED)
    assert result.detail == "domain registration expired 3 days ago"


async def never_answers(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3600)


@pytest.mark.parametrize(
    ("route", "reason", "detail"),
    [
        (None, Reason.DOMAIN_NOT_FOUND, "HTTP 404, no such domain"),
        (lambda s: s.reply("/rdap/domain/x.go.id", 500, b"oops"), Reason.RDAP_ERROR, "HTTP 500"),
        (lambda s: s.reply("/rdap/domain/x.go.id", 200, b"<html>not rdap"), Reason.RDAP_ERROR, "not RDAP JSON"),
        (lambda s: s.reply("/rdap/domain/x.go.id", 200, b"[1, 2]"), Reason.RDAP_ERROR, "holds no events"),
        (lambda s: registry(s, "x.go.id", None), Reason.RDAP_ERROR, "publishes no expiration date"),
        (lambda s: s.route("/rdap/domain/x.go.id")(never_answers), Reason.RDAP_ERROR, "no answer within 1s"),
    ],
    ids=["unknown", "error", "garbage", "no-events", "no-expiration", "silent"],
)
async def test_with_nothing_known_an_rdap_failure_fails_the_target(
    config_from: Load, server: HttpServer, route: Callable[[HttpServer], None] | None, reason: str, detail: str
) -> None:
    if route is not None:
        route(server)
    result = await probe(domain_target(config_from, server, "x.go.id"), DomainBook(Clock()))
    assert (result.ok, result.reason) == (False, reason)
    assert result.detail.startswith(server.url("/rdap/domain/x.go.id")) and detail in result.detail


async def test_it_looks_a_domain_up_at_most_every_six_hours_and_judges_it_afresh(
    config_from: Load, server: HttpServer
) -> None:
    registry(server, "kotimkab.go.id", START + 30.5 * DAY + 3 * 3600)  # inside warn_days' 30 after 15 hours
    target, clock = domain_target(config_from, server, "kotimkab.go.id", 'interval = "30m"'), Clock()
    book = DomainBook(clock)
    seen: list[tuple[float, bool, int]] = []  # (hours, degraded, lookups so far)
    for _ in range(50):  # a probe every 30 minutes for 25 hours
        result = assess(target, await probe(target, book), now=clock.now)
        seen.append(((clock.now - START) / 3600, result.degraded, len(server.requests)))
        clock.now += 1800
    assert len(server.requests) == 5  # at 0, 6, 12, 18 and 24 hours: not at every probe
    looked_up_at = [seen[i][0] for i in range(1, len(seen)) if seen[i][2] > seen[i - 1][2]]
    assert looked_up_at == [6, 12, 18, 24]
    # Between two lookups the same cached expiry is judged against the time of each probe.
    assert (seen[29], seen[30]) == ((14.5, False, 3), (15.0, True, 3))


async def test_an_rdap_error_keeps_the_last_known_expiry_and_says_so(config_from: Load, server: HttpServer) -> None:
    registry(server, "kotimkab.go.id", START + 200 * DAY)
    target, clock = domain_target(config_from, server, "kotimkab.go.id"), Clock()
    book = DomainBook(clock)
    assert (await probe(target, book)).ok
    server.reply("/rdap/domain/kotimkab.go.id", 503, b"busy")
    clock.now += LOOKUP_EVERY
    result = assess(target, await probe(target, book), now=clock.now)
    assert (result.ok, result.degraded, len(server.requests)) == (True, False, 2)
    assert result.extra[EXPIRY] == START + 200 * DAY
    assert result.detail.endswith("HTTP 503): expiry as last known 6 h ago")
    assert "the last RDAP lookup failed just now" in result.detail


async def test_with_nothing_known_a_failed_lookup_is_retried_after_an_hour(
    config_from: Load, server: HttpServer
) -> None:
    server.reply("/rdap/domain/kotimkab.go.id", 500, b"oops")
    target, clock = domain_target(config_from, server, "kotimkab.go.id"), Clock()
    book = DomainBook(clock)
    assert (await probe(target, book)).reason == Reason.RDAP_ERROR
    clock.now += RETRY_EVERY - 1
    assert (await probe(target, book)).reason == Reason.RDAP_ERROR
    assert len(server.requests) == 1
    registry(server, "kotimkab.go.id", START + 200 * DAY)
    clock.now += 1
    assert (await probe(target, book)).ok and len(server.requests) == 2


async def test_two_targets_of_one_domain_share_one_lookup(config_from: Load, server: HttpServer) -> None:
    registry(server, "kotimkab.go.id", START + 200 * DAY)
    url = server.url("/rdap/")
    text = "".join(f'[targets.{t}]\nurl = "domain://kotimkab.go.id"\nrdap_url = "{url}"\n' for t in ("a", "b"))
    config, book = config_from(text), DomainBook(Clock())
    results = await asyncio.gather(*(probe(t, book) for t in config.targets.values()))
    assert all(r.ok for r in results) and len(server.requests) == 1


def test_the_shipped_bootstrap_file_routes_go_id_through_id_and_com_net_org(config_from: Load) -> None:
    config = config_from(
        '[targets.a]\nurl = "domain://kotimkab.go.id"\n[targets.b]\nurl = "domain://Example.COM"\n'
        '[targets.c]\nurl = "domain://example.net"\n[targets.d]\nurl = "domain://wikipedia.org"\n'
    )
    specs = [t.spec for t in config.targets.values()]
    assert specs[0] == DomainSpec("kotimkab.go.id", "https://rdap.pandi.id/rdap/", (30, 7))
    assert [s.base_url for s in specs[1:]] == [
        "https://rdap.verisign.com/com/v1/",
        "https://rdap.verisign.com/net/v1/",
        "https://rdap.publicinterestregistry.org/rdap/",
    ]
    assert specs[1].name == "example.com"


def test_a_bootstrap_prefers_https_and_the_longest_suffix() -> None:
    bootstrap = Bootstrap.parse(
        {
            "version": "1.0",
            "services": [
                [["id"], ["http://rdap.example/id/", "https://rdap.example/id/"]],
                [["go.id"], ["https://rdap.example/go.id/"]],
            ],
        }
    )
    assert bootstrap.base_url("kotimkab.go.id") == "https://rdap.example/go.id/"
    assert bootstrap.base_url("pandi.id") == "https://rdap.example/id/"
    assert bootstrap.base_url("example.com") is None
    with pytest.raises(ValueError, match="no services list"):
        Bootstrap.parse({"version": "1.0"})


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ('url = "domain://example.zz"', "targets.d.url: no RDAP service for .zz in the shipped bootstrap file"),
        ('url = "domain://kotimkab.go.id/x"', "targets.d.url: must be domain://NAME"),
        ('url = "domain://localhost"', "targets.d.url: must be domain://NAME"),
        ('url = "domain://a.go.id"\nrdap_url = "ftp://rdap.example/"', "targets.d.rdap_url: must be an http"),
        ('url = "domain://a.go.id"\nwarn_days = [30, 0]', "targets.d.warn_days: must be distinct whole days"),
        ('url = "domain://a.go.id"\nwarn_day = [30]', "targets.d.warn_day: unknown key"),
    ],
)
def test_its_keys_are_checked_at_load(config_from: Load, keys: str, expected: str) -> None:
    with pytest.raises(ConfigError) as failed:
        config_from(f"[targets.d]\n{keys}\n")
    found = [f"{p.path}: {p.message}" for p in failed.value.problems]
    assert any(p.startswith(expected) for p in found), found
