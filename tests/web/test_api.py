"""The JSON API under /api/v1/ and its OpenAPI document: real answers validate against it."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import jsonschema
import pytest

from monitor.result import Result, State
from monitor.store import Note, Period, StoredResult
from monitor.web.openapi import document
from monitor.web.templating import isotime
from tests import history as h
from tests.web.conftest import DAY, FakeRuntime, cut_off, history, make_config, set_state, target

FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    # jsonschema checks date-time only with an extra package; this is the API's form.
    if isinstance(value, str):
        if not value.endswith("Z"):
            raise ValueError(f"{value!r} is not in UTC")
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def validate(body: Any, schema_name: str) -> None:
    """Validate against `#/components/schemas/NAME` of the served document."""
    doc = document()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(body)


def test_the_validator_checks_times_and_extra_fields() -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate({"at": "yesterday", "text": "x"}, "Note")
    with pytest.raises(jsonschema.ValidationError):
        validate({"at": "2026-01-01T00:00:00Z", "text": "x", "author": "budi"}, "Note")
    validate({"at": "2026-01-01T00:00:00Z", "text": "x"}, "Note")


def test_the_openapi_document_is_well_formed() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1")
    for name, schema in doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema), name
    for path, item in doc["paths"].items():
        for operation in item.values():
            for response in operation["responses"].values():
                if "content" not in response:  # 204
                    continue
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.removeprefix("#/components/schemas/") in doc["components"]["schemas"], path


async def test_it_serves_the_openapi_document(client_for) -> None:
    client = client_for(FakeRuntime(make_config([target("web")])))
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json() == document()
    assert set(response.json()["paths"]) == {
        "/api/v1/status",
        "/api/v1/targets/{id}/results",
        "/api/v1/incidents",
        "/admin/api/targets/{id}",
        "/admin/api/targets/{id}/pause",
        "/admin/api/targets/{id}/resume",
        "/admin/api/targets/{id}/probe",
        "/admin/api/config/monitor",
        "/admin/api/config/defaults",
        "/admin/api/config/subscriptions",
        "/admin/api/config/notifiers",
        "/admin/api/config/notifiers/{name}",
        "/admin/api/config/watch",
        "/admin/api/config/watch/{index}",
        "/admin/api/config/maintenance",
        "/admin/api/config/maintenance/{index}",
        "/admin/api/config/rosters",
        "/admin/api/config/rosters/{name}",
        "/admin/api/config/duty",
        "/admin/api/config/duty/{index}",
        "/admin/api/notifiers/{name}/test",
        "/admin/api/config/admins",
        "/admin/api/config/admins/{name}",
        "/admin/api/audit",
    }


async def test_status_lists_public_targets_and_validates(client_for) -> None:
    now = time.time()
    runtime = FakeRuntime(make_config([target("web", "Website"), target("dns", "DNS"), target("gw", public=False)]))
    history(runtime, "web", now, ratio=0.999)
    set_state(runtime, "web", State.UP, now - DAY, last=Result(True, duration=0.12, started=now - 5))
    set_state(runtime, "dns", State.DOWN, now - 600, "dns_error", "NXDOMAIN")
    runtime.store.periods_.append(Period("dns", State.DOWN, now - 600, None, "dns_error", "NXDOMAIN"))
    body = (await client_for(runtime).get("/api/v1/status")).json()
    validate(body, "Status")
    assert body["overall"] == "major_outage"
    assert [t["id"] for t in body["targets"]] == ["web", "dns"]
    web, dns = body["targets"]
    assert web["state"] == "UP" and web["latency"] == 0.12 and web["reason"] is None
    assert web["uptime"] == {"24h": 0.999, "7d": 0.999, "30d": 0.999}
    assert dns["state"] == "DOWN" and dns["reason"] == "dns_error" and dns["uptime"]["24h"] is None
    assert [i["target"]["id"] for i in body["incidents"]] == ["dns"]
    assert body["incidents"][0]["ongoing"] is True
    assert body["watch"] is None


async def test_results_come_from_the_store_and_validate(client_for) -> None:
    now = time.time()
    runtime = FakeRuntime(make_config([target("web")]))
    runtime.store.raw = [
        StoredResult("web", now - 120, True, 0.2, "ok"),
        StoredResult("web", now - 60, False, 10.0, "timeout", detail="no answer from 10.1.2.3"),
    ]
    client = client_for(runtime)
    body = (await client.get("/api/v1/targets/web/results")).json()
    validate(body, "Results")
    assert [r["reason"] for r in body["results"]] == ["ok", "timeout"]
    assert body["truncated"] is False
    assert "10.1.2.3" not in str(body)
    since = (await client.get(f"/api/v1/targets/web/results?since={now - 90:.0f}")).json()
    assert [r["reason"] for r in since["results"]] == ["timeout"]


async def test_results_from_the_real_store_within_a_window(client_for, day_runtime) -> None:
    client = client_for(day_runtime, day_runtime.clock)
    url = "/api/v1/targets/mail/results?since=2018-06-11T22:00:00%2B07:00&until=2018-06-11T23:00:00%2B07:00"
    body = (await client.get(url)).json()
    validate(body, "Results")
    assert len(body["results"]) == 12  # one every 5 minutes
    assert {r["reason"] for r in body["results"]} == {"dns_error"}
    assert body["since"] == "2018-06-11T15:00:00Z"


async def test_incidents_from_the_real_store(client_for, day_runtime) -> None:
    client = client_for(day_runtime, day_runtime.clock)
    body = (await client.get(f"/api/v1/incidents?since={h.T0:.0f}")).json()
    validate(body, "Incidents")
    found = [(i["target"]["id"], i["reason"], i["duration"], i["ongoing"]) for i in body["incidents"]]
    assert found == [
        ("mail", "dns_error", 2 * h.H, True),
        ("web", "connection_refused", 4 * h.H, False),
        ("web", "timeout", 1 * h.H, False),
    ]
    only_web = (await client.get(f"/api/v1/incidents?since={h.T0:.0f}&target=web")).json()
    assert {i["target"]["id"] for i in only_web["incidents"]} == {"web"}


async def test_an_incident_maintenance_did_not_end_is_one_with_its_windows(client_for, through_maintenance) -> None:
    runtime = through_maintenance
    now = runtime.clock()
    client = client_for(runtime, runtime.clock)
    body = (await client.get("/api/v1/incidents")).json()
    validate(body, "Incidents")
    found = [(i["target"]["id"], i["ongoing"], i["duration"], i["maintenance_seconds"]) for i in body["incidents"]]
    assert found == [("mail", True, 2 * 3600, 3600), ("web", False, 2.5 * 3600, 3600)]
    mail, web = body["incidents"]
    assert mail["maintenance"] == [{"start": isotime(now - 3600), "end": None}]
    assert web["maintenance"] == [{"start": isotime(now - 2 * 3600), "end": isotime(now - 3600)}]
    status = (await client.get("/api/v1/status")).json()
    validate(status, "Status")
    assert [i["target"]["id"] for i in status["incidents"]] == ["mail"]  # still open, in maintenance


async def test_incidents_carry_their_notes(client_for) -> None:
    now = time.time()
    runtime = FakeRuntime(make_config([target("web")]))
    runtime.store.periods_.append(Period("web", State.DOWN, now - 3600, now - 1800, "timeout"))
    runtime.store.notes_.append(Note(1, "web", now - 3000, "Generator menyala", "admin-budi"))
    body = (await client_for(runtime).get("/api/v1/incidents")).json()
    validate(body, "Incidents")
    assert body["incidents"][0]["notes"][0]["text"] == "Generator menyala"
    assert "admin-budi" not in str(body)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/targets/web/results?since=yesterday",
        "/api/v1/targets/web/results?since=2026-01-01T00:00:00",  # no offset
        "/api/v1/targets/web/results?since=200&until=100",
        "/api/v1/incidents?until=nan",
    ],
)
async def test_bad_times_are_a_400_with_a_reason(client_for, url: str) -> None:
    response = await client_for(FakeRuntime(make_config([target("web")]))).get(url)
    assert response.status_code == 400
    validate(response.json(), "Error")


async def test_private_and_unknown_targets_are_404_alike(client_for) -> None:
    client = client_for(FakeRuntime(make_config([target("web"), target("gw", public=False)])))
    for url in ("/api/v1/targets/gw/results", "/api/v1/incidents?target=gw"):
        private = await client.get(url)
        unknown = await client.get(url.replace("gw", "nope"))
        assert private.status_code == unknown.status_code == 404
        assert private.json() == unknown.json()
        validate(private.json(), "Error")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/targets/web/results?until=1e12",  # the year 33658: no date to show
        "/api/v1/incidents?until=9999-12-31T23:59:59-12:00",
        "/api/v1/incidents?since=0001-01-01T00:00:00%2B14:00",  # before 1970
    ],
)
async def test_times_no_date_can_show_are_a_400_not_a_500(client_for, url: str) -> None:
    response = await client_for(FakeRuntime(make_config([target("web")]))).get(url)
    assert response.status_code == 400
    validate(response.json(), "Error")


async def test_since_zero_is_the_epoch_not_the_default(client_for) -> None:
    body = (await client_for(FakeRuntime(make_config([target("web")]))).get("/api/v1/incidents?since=0")).json()
    assert body["since"] == "1970-01-01T00:00:00Z"


async def test_status_says_whether_the_monitor_itself_is_cut_off(client_for) -> None:
    now = time.time()
    runtime = FakeRuntime(make_config([target("web", "Website")]))
    client = client_for(runtime)
    body = (await client.get("/api/v1/status")).json()
    validate(body, "Status")
    assert body["connectivity"] == {"state": "off", "since": None}
    cut_off(runtime, now - 120)
    set_state(runtime, "web", State.UNKNOWN, now - 30, "monitor_offline")
    body = (await client.get("/api/v1/status")).json()
    validate(body, "Status")
    assert body["connectivity"]["state"] == "offline"
    assert body["connectivity"]["since"] == isotime(now - 120)
    runtime.connectivity.observe("dns-1", Result(True, started=now))
    body = (await client.get("/api/v1/status")).json()
    validate(body, "Status")
    assert body["connectivity"]["state"] == "online"
