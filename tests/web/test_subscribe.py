"""The subscription routes on the app: the form on the page, `POST /subscribe` (the same
answer for a known, an unknown and a too-often-asked address; 429 for a client asking
too often), the confirmation link, and unsubscribing by the page's button and by the
one-click POST of RFC 8058 — with the mails received by a real local SMTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from monitor.subscriptions.service import Subscriptions
from monitor.web.subscribe import ADDRESS_LIMIT, CLIENT_LIMIT
from tests.fakestore import MemoryStore
from tests.mailbox import Mailbox, links, path_of, smtp_server, with_subscriptions
from tests.waiting import until
from tests.web.conftest import FakeRuntime, make_config, target


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as found:
        yield found


@pytest.fixture
async def runtime(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> AsyncIterator[FakeRuntime]:
    targets = [target("web", "Website"), target("rs", "Rumah sakit", group="Kesehatan")]
    targets.append(target("secret", "Router rahasia", group="Jaringan internal", public=False))
    config = with_subscriptions(make_config(targets, language="id"), mailbox[1])
    store = MemoryStore(subscribers_path=tmp_path / "monitor.db")
    rt = FakeRuntime(config, store=store)
    rt.subscriptions = Subscriptions(config, store)
    rt.subscriptions.open()
    rt.subscriptions.start()
    yield rt
    await rt.subscriptions.stop()


def form(email: str, **more: Any) -> dict[str, Any]:
    return {"email": email, **more}


async def test_the_page_offers_the_form_with_the_public_groups_only(client_for, runtime: FakeRuntime) -> None:
    html = (await client_for(runtime).get("/?lang=en")).text
    assert '<form method="post" action="/subscribe?lang=en">' in html
    assert 'name="email" type="email" required' in html and 'value="Kesehatan"' in html
    assert "Jaringan internal" not in html
    target_page = (await client_for(runtime).get("/targets/rs?lang=id")).text
    assert '<input type="hidden" name="targets" value="rs">' in target_page


async def test_without_subscriptions_there_is_no_form_and_no_route(client_for, runtime: FakeRuntime) -> None:
    off = replace(runtime, subscriptions=None)
    client = client_for(off)
    assert "/subscribe" not in (await client.get("/")).text
    assert (await client.post("/subscribe", data=form("a@example.go.id"))).status_code == 404
    assert (await client.get("/subscribe/confirm?token=x")).status_code == 404
    assert (await client.post("/unsubscribe?token=x")).status_code == 404


async def test_subscribing_confirming_and_unsubscribing_in_one_click(
    client_for, runtime: FakeRuntime, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    client = client_for(runtime)
    answer = await client.post("/subscribe?lang=en", data=form("warga@example.go.id", targets=["rs"]))
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    await until(lambda: box.messages, what="the confirmation mail")
    (confirm,) = links(box.messages[0])
    confirmed = await client.get(path_of(confirm))
    assert confirmed.status_code == 200 and "Subscription confirmed" in confirmed.text
    assert confirmed.headers["referrer-policy"] == "no-referrer"
    (subscriber,) = runtime.subscriptions.book.subscribers()
    assert (subscriber.address, subscriber.targets, subscriber.lang) == ("warga@example.go.id", ("rs",), "en")
    link = runtime.subscriptions.unsubscribe_link(subscriber)
    button = await client.get(path_of(link))  # a link scanner's GET unsubscribes nobody
    assert button.status_code == 200 and 'name="List-Unsubscribe" value="One-Click"' in button.text
    assert len(runtime.subscriptions.book.subscribers()) == 1
    gone = await client.post(path_of(link), content=b"List-Unsubscribe=One-Click")
    assert gone.status_code == 200 and "You are unsubscribed" in gone.text
    assert runtime.subscriptions.book.subscribers() == []
    again = await client.post(path_of(link), content=b"List-Unsubscribe=One-Click")
    assert again.status_code == 200  # gone already: still the same answer


async def test_the_answer_is_the_same_for_a_known_an_unknown_and_a_too_often_asked_address(
    client_for, runtime: FakeRuntime, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    client = client_for(runtime)
    runtime.subscriptions.book.confirm("known@example.go.id", [], [], "id", 1.0)
    answers = [await client.post("/subscribe", data=form(a)) for a in ("known@example.go.id", "new@example.go.id")]
    # Each time another choice: the same request within a second is one mail anyway.
    choices: list[list[str]] = [[], ["web"], ["rs"], ["web", "rs"]][: ADDRESS_LIMIT + 1]
    answers += [await client.post("/subscribe", data=form("Again@example.go.id", targets=c)) for c in choices]
    assert {(a.status_code, a.text) for a in answers} == {(answers[0].status_code, answers[0].text)}
    assert answers[0].status_code == 200
    await until(
        lambda: runtime.subscriptions.book.pending() == 0 and len(box.messages) >= 2 + ADDRESS_LIMIT, what="mails"
    )
    assert len(box.to("Again@example.go.id")) == ADDRESS_LIMIT  # the last one sent nothing


async def test_a_client_asking_too_often_is_refused_for_a_while(client_for, runtime: FakeRuntime) -> None:
    client = client_for(runtime)
    codes = [
        (await client.post("/subscribe", data=form(f"w{i}@example.go.id"))).status_code for i in range(CLIENT_LIMIT + 1)
    ]
    assert codes == [200] * CLIENT_LIMIT + [429]


@pytest.mark.parametrize("bad", ["", "warga", "warga@localhost", "a b@example.go.id", "a@example.go.id\r\nBcc: x@y.id"])
async def test_a_malformed_address_is_answered_400_and_sends_nothing(
    client_for, runtime: FakeRuntime, bad: str
) -> None:
    answer = await client_for(runtime).post("/subscribe?lang=en", data=form(bad))
    assert answer.status_code == 400 and "not valid" in answer.text
    assert runtime.subscriptions.book.pending() == 0


@pytest.mark.parametrize(
    "path", ["/subscribe/confirm?token=abc.def", "/subscribe/confirm", "/unsubscribe?token=MQ.xyz"]
)
async def test_a_bad_link_says_so(client_for, runtime: FakeRuntime, path: str) -> None:
    answer = await client_for(runtime).get(path + ("&" if "?" in path else "?") + "lang=en")
    assert answer.status_code == 400 and "This link does not work" in answer.text


async def test_the_admin_view_counts_the_subscribers_with_their_addresses_masked(
    client_for, runtime: FakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", "t0ken-admin")
    runtime.subscriptions.book.confirm("warga.kotim@example.go.id", ["rs"], [], "id", 1.0)
    client = client_for(runtime)
    headers = {"Authorization": "Bearer t0ken-admin"}
    data = (await client.get("/admin/api/subscribers", headers=headers)).json()
    assert data["count"] == 1 and data["subscribers"][0]["address"] == "w***@e***.go.id"
    page = (await client.get("/admin", headers=headers)).text
    assert "w***@e***.go.id" in page and "warga.kotim" not in page


async def test_maintenance_planned_through_the_admin_api_is_mailed_to_its_subscribers(
    client_for, runtime: FakeRuntime, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    box, _ = mailbox
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", "t0ken-admin")
    health = runtime.subscriptions.book.confirm("sehat@example.go.id", [], ["Kesehatan"], "en", 1.0)
    other = runtime.subscriptions.book.confirm("web@example.go.id", ["web"], [], "id", 1.0)
    start = runtime.subscriptions.clock() + 3600
    body = {"start": start, "end": start + 7200, "groups": ["Kesehatan"], "reason": "Pindah ruang server"}
    answer = await client_for(runtime).post(
        "/admin/api/maintenance", json=body, headers={"Authorization": "Bearer t0ken-admin"}
    )
    assert answer.status_code == 201
    await until(lambda: box.to(health.address), what="the maintenance notice")
    await until(lambda: runtime.subscriptions.book.pending() == 0, what="the queue empty")
    (notice,) = box.to(health.address)
    assert notice["Subject"].startswith("Planned maintenance from ") and "Pindah ruang server" in notice.get_content()
    assert box.to(other.address) == []


async def test_planned_maintenance_removed_before_its_start_is_mailed_as_cancelled(
    client_for, runtime: FakeRuntime, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    box, _ = mailbox
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", "t0ken-admin")
    health = runtime.subscriptions.book.confirm("sehat@example.go.id", [], ["Kesehatan"], "en", 1.0)
    headers = {"Authorization": "Bearer t0ken-admin"}
    client = client_for(runtime)
    start = runtime.subscriptions.clock() + 3600
    body = {"start": start, "end": start + 7200, "groups": ["Kesehatan"], "reason": "Pindah ruang server"}
    window = (await client.post("/admin/api/maintenance", json=body, headers=headers)).json()
    await until(lambda: box.to(health.address), what="the maintenance notice")
    assert (await client.delete(f"/admin/api/maintenance/{window['id']}", headers=headers)).status_code == 204
    await until(lambda: len(box.to(health.address)) == 2, what="the cancellation")
    await until(lambda: runtime.subscriptions.book.pending() == 0, what="the queue empty")
    added, cancelled = box.to(health.address)
    when = added["Subject"].removeprefix("Planned maintenance from ")
    assert cancelled["Subject"] == f"Planned maintenance cancelled: {when}"
    assert "is cancelled for:" in cancelled.get_content() and "- Rumah sakit" in cancelled.get_content()
    assert cancelled["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
