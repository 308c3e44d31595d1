"""Citizens' subscriptions end to end below the web: the confirmation request, the
confirmed subscriber's mails on an outage and its end, planned maintenance and incident
updates, each through a real SMTP server, in the subscriber's language, with the
one-click unsubscribe link and headers (RFC 8058); a failing server delays a mail and
never drops or doubles it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from monitor.result import Event, State
from monitor.store import IncidentUpdate, PlannedMaintenance, PostedIncident, Subscriber, Wording
from monitor.subscriptions.service import Subscriptions, mask
from tests.alertkit import free_port
from tests.mailbox import PUBLIC_URL, SENDER, Mailbox, body, links, smtp_server
from tests.subscriptions.conftest import Build
from tests.waiting import until

T = 1_800_000_000.0


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def confirmed(service: Subscriptions, box: Mailbox, address: str, lang: str, **choice: list[str]) -> Subscriber:
    """Subscribe `address` as the form does and open the link its mail brings."""
    before = len(box.to(address))
    service.request(address, choice.get("targets", []), choice.get("groups", []), lang)
    await until(lambda: len(box.to(address)) > before, what=f"the confirmation mail to {address}")
    (link,) = [x for x in links(box.to(address)[-1]) if "/subscribe/confirm" in x]
    subscriber = service.confirm(token_of(link))
    assert subscriber is not None
    return subscriber


async def test_the_confirmation_request_carries_a_signed_link_and_stores_nothing(subscriptions: Build) -> None:
    with smtp_server() as (box, port):
        service = subscriptions(port)
        service.request("Warga@Example.go.id", ["rs", "secret", "nope"], [], "id")
        await until(lambda: box.messages, what="the confirmation mail")
    (message,) = box.messages
    assert box.recipients == [["Warga@Example.go.id"]]
    assert message["From"] == SENDER and message["To"] == "Warga@Example.go.id"
    assert message["Subject"] == "Konfirmasi langganan: Status Layanan"
    assert message["Content-Language"] == "id" and message["Auto-Submitted"] == "auto-generated"
    text = body(message)
    assert "- Rumah sakit" in text and "Router rahasia" not in text  # a private target is never offered
    (link,) = links(message)
    assert link.startswith(f"{PUBLIC_URL}/subscribe/confirm?lang=id&token=")
    assert service.book.subscribers() == []  # nothing stored before the link is opened
    subscriber = service.confirm(token_of(link))
    assert subscriber is not None and (subscriber.address, subscriber.targets) == ("warga@example.go.id", ("rs",))
    assert service.confirm(token_of(link) + "x") is None


async def test_a_subscriber_hears_of_an_outage_and_its_end_in_their_language(subscriptions: Build) -> None:
    with smtp_server() as (box, port):
        service = subscriptions(port)
        warga = await confirmed(service, box, "warga@example.go.id", "en")
        web = service.config.targets["web"]
        service.on_event(Event("web", T, State.UP, State.DOWN, "timeout"), web)
        service.on_event(Event("web", T + 3720, State.DOWN, State.UP, "ok"), web)
        await until(lambda: len(box.to(warga.address)) == 3, what="the outage's two mails")
    down, up = box.to(warga.address)[1:]
    assert (down["Subject"], up["Subject"]) == ("Outage: Website", "Back to normal: Website")
    assert "The outage lasted 1 h 2 min." in body(up)
    for message in (down, up):
        unsubscribe = message["List-Unsubscribe"]
        assert unsubscribe.startswith(f"<{PUBLIC_URL}/unsubscribe?lang=en&token=") and unsubscribe.endswith(">")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert unsubscribe[1:-1] in links(message)  # the same link in the body
        assert f"{PUBLIC_URL}/targets/web?lang=en" in links(message)
        assert message["Content-Language"] == "en"
    assert service.unsubscribe(token_of(down["List-Unsubscribe"][1:-1])) is True
    assert service.book.subscribers() == []


async def test_only_the_subscribers_of_a_target_hear_of_it_and_a_private_one_is_never_mailed(
    subscriptions: Build,
) -> None:
    with smtp_server() as (box, port):
        service = subscriptions(port)
        everything = await confirmed(service, box, "semua@example.go.id", "id")
        health = await confirmed(service, box, "sehat@example.go.id", "id", groups=["Kesehatan"])
        targets = service.config.targets
        service.on_event(Event("secret", T, State.UP, State.DOWN, "timeout"), targets["secret"])
        service.on_event(Event("rs", T, State.UP, State.DOWN, "timeout"), targets["rs"])
        service.on_event(Event("dns", T, State.UP, State.DOWN, "timeout"), targets["dns"])
        await until(lambda: len(box.to(everything.address)) == 3, what="two outages to the one subscribed to all")
        await until(lambda: service.book.pending() == 0, what="the queue empty")
    assert [m["Subject"] for m in box.to(health.address)[1:]] == ["Gangguan: Rumah sakit"]
    assert sorted(m["Subject"] for m in box.to(everything.address)[1:]) == ["Gangguan: DNS", "Gangguan: Rumah sakit"]
    assert not any("Router rahasia" in body(m) for m in box.messages)


async def test_a_failing_smtp_server_delays_the_mail_which_then_arrives_once(subscriptions: Build) -> None:
    port = free_port()  # nothing listens there yet
    service = subscriptions(port)
    service.request("warga@example.go.id", [], [], "id")

    def attempts() -> int:
        mail = service.book.next_mail()
        return mail.attempts if mail is not None else 0

    await until(lambda: attempts() >= 2, what="two failed attempts while the server is down")
    with smtp_server(port) as (box, _):
        await until(lambda: box.messages, timeout=15, what="the mail once the server is back")
        await until(lambda: service.book.pending() == 0, what="the queue empty")
    assert len(box.messages) == 1 and service.sender.counts == {"sent": 1, "failed": 0}


async def test_an_incident_update_reaches_its_subscribers_once_however_often_it_is_sent(subscriptions: Build) -> None:
    with smtp_server() as (box, port):
        service = subscriptions(port)
        warga = await confirmed(service, box, "warga@example.go.id", "en", targets=["rs"])
        other = await confirmed(service, box, "lain@example.go.id", "id", targets=["dns"])
        text = {"id": "Server basis data diganti.", "en": "The database server is being replaced."}
        title = {"id": "Gangguan SIMRS"}
        for _ in range(2):
            queued = await service.send_incident_update("inc-7/3", ["rs", "secret"], "identified", text, title, T)
            assert queued in (1, 0)
        await until(lambda: len(box.to(warga.address)) == 2, what="the update")
        await until(lambda: service.book.pending() == 0, what="the queue empty")
    update = box.to(warga.address)[1]
    assert update["Subject"] == "Gangguan SIMRS: Identified"  # no English title: the Indonesian one
    assert "The database server is being replaced." in body(update) and "- Rumah sakit" in body(update)
    assert update["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert len(box.to(other.address)) == 1  # not subscribed to that service


async def test_an_operators_update_reaches_the_subscribers_through_the_incident_listener(subscriptions: Build) -> None:
    with smtp_server() as (box, port):
        service = subscriptions(port)
        warga = await confirmed(service, box, "warga@example.go.id", "en", targets=["rs"])
        update = IncidentUpdate(41, 7, T, "monitoring", Wording("Sudah pulih, dipantau.", "Back, being watched."))
        incident = PostedIncident(7, T - 600, ("rs",), Wording("Gangguan SIMRS", "SIMRS outage"), updates=(update,))
        for _ in range(2):  # posted once, heard once
            await service.on_incident_update(incident, update)
        await until(lambda: len(box.to(warga.address)) == 2, what="the update")
        await until(lambda: service.book.pending() == 0, what="the queue empty")
    mail = box.to(warga.address)[1]
    assert mail["Subject"] == "SIMRS outage: Monitoring"
    assert "Back, being watched." in body(mail)


async def test_planned_maintenance_added_is_told_to_whom_it_concerns(subscriptions: Build) -> None:
    with smtp_server() as (box, port):
        service = subscriptions(port)
        warga = await confirmed(service, box, "warga@example.go.id", "id", groups=["Jaringan"])
        start = service.clock() + 3600
        window = PlannedMaintenance(5, start, start + 7200, (), ("Jaringan",), "Penggantian switch inti")
        service.on_maintenance(window)
        await until(lambda: len(box.to(warga.address)) == 2, what="the maintenance notice")
    notice = body(box.to(warga.address)[1])
    assert "- DNS" in notice and "Penggantian switch inti" in notice and "Router rahasia" not in notice


def test_an_address_is_masked_for_the_admin_view() -> None:
    assert mask("warga.kotim@example.go.id") == "w***@e***.go.id"
