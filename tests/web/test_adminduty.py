"""Duty rosters (`[rosters.NAME]`) and their shifts (`[[duty]]`) edited by form and JSON:
the rest of the file kept byte for byte, a backup, the audit entry, the reload; problems
next to their inputs with the file untouched; a roster gap (a warning of `monitor
validate`) shown after the save, which happens all the same."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from tests.web.office import csrf_of, office, version_of
from tests.web.test_api import validate

TOKEN = "token-untuk-skrip-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}

# The on-call part of the office's file, with the admin's comments.
DUTY = """
# --- piket ---
[notifiers.budi-hp]
type = "webhook"
url = "http://127.0.0.1:9/budi"

[notifiers.kantor]
type = "webhook"
url = "http://127.0.0.1:9/kantor"

[rosters.piket]   # piket kantor
fallback = "kantor"   # bila tak ada yang piket

[[duty]]
roster = "piket"
who = "budi-hp"
weekly = ["daily 00:00-24:00"]   # selalu ada yang piket
"""


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MONITOR_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("MONITOR_ENV_FILE", str(tmp_path / "monitor.env"))


def inputs_of(page: str) -> list[str]:
    return re.findall(r'<(?:input|textarea|select)[^>]* name="([a-z_]+)"', page)


def problem_of(page: str, key: str) -> str:
    found = re.search(rf'<div class="problem" id="p-{key}"><p>([^<]*)</p>', page)
    assert found is not None, page
    return html.unescape(found.group(1))


async def test_a_roster_edited_by_form_keeps_the_rest_of_the_file_byte_for_byte(tmp_path) -> None:
    async with office(tmp_path, start=False, extra=DUTY) as o:
        client, csrf = await o.login("siti")
        listed = await client.get("/admin/config/rosters")
        assert listed.status_code == 200
        assert "<code>piket</code>" in listed.text and "/admin/config/rosters/piket/edit?" in listed.text
        form = await client.get("/admin/config/rosters/piket/edit")
        assert form.status_code == 200
        assert inputs_of(form.text)[inputs_of(form.text).index("_version") + 1 :] == ["fallback", "escalate_after"]
        assert "Targets use it with notify" in form.text
        before = o.path.read_text()
        data = {"csrf": csrf, "_version": version_of(form.text), "fallback": "kantor", "escalate_after": "30m"}
        saved = await client.post("/admin/config/rosters/piket/edit", data=data)
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == "/admin/config/rosters?lang=en"  # no warning: back to the list
        expected = before.replace(
            'fallback = "kantor"   # bila tak ada yang piket\n',
            'fallback = "kantor"   # bila tak ada yang piket\nescalate_after = "30m"\n',
        )
        assert o.path.read_text() == expected
        assert (tmp_path / "targets.toml.1").read_text() == before
        assert o.monitor.config.rosters["piket"].escalate_after == 1800
        [entry] = await o.monitor.store.audit_entries()
        assert (entry.who, entry.action, entry.subject) == ("siti", "config.rosters.update", "piket")
        assert '+escalate_after = "30m"' in entry.detail
        # A new roster through its form: named by its id.
        new = await client.get("/admin/config/rosters/new")
        added = await client.post(
            "/admin/config/rosters/new",
            data={"csrf": csrf, "_version": version_of(new.text), "id": "darurat", "fallback": "budi-hp"},
        )
        assert added.status_code == 303, added.text
        assert o.path.read_text() == expected.replace(  # beside the other roster
            'escalate_after = "30m"\n\n', 'escalate_after = "30m"\n\n[rosters.darurat]\nfallback = "budi-hp"\n\n'
        )
        assert o.monitor.config.rosters["darurat"].fallback == "budi-hp"


async def test_a_shift_that_leaves_a_gap_is_saved_and_its_form_shows_the_warning(tmp_path) -> None:
    async with office(tmp_path, start=False, extra=DUTY) as o:
        client, csrf = await o.login("siti")
        form = await client.get("/admin/config/duty/0/edit")
        assert form.status_code == 200
        names = inputs_of(form.text)
        assert names[names.index("_version") + 1 :] == ["roster", "who", "start", "end", "weekly"]
        assert "daily 00:00-24:00</textarea>" in form.text
        before = o.path.read_text()
        data = {"csrf": csrf, "_version": version_of(form.text), "roster": "piket", "who": "budi-hp"}
        saved = await client.post("/admin/config/duty/0/edit", data={**data, "weekly": "mon-fri 08:00-16:00\n"})
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == "/admin/config/duty/0/edit?saved=1&lang=en"
        assert o.path.read_text() == before.replace(
            'weekly = ["daily 00:00-24:00"]   # selalu ada yang piket',
            'weekly = ["mon-fri 08:00-16:00"]   # selalu ada yang piket',
        )
        assert o.monitor.config.duty[0].weekly[0] == (8 * 60, 16 * 60)
        assert o.monitor.config.warnings  # the same warnings monitor validate prints
        shown = await client.get(saved.headers["location"])
        assert "Saved to the file and reloaded." in shown.text
        assert "the file is saved all the same" in shown.text
        warnings = [html.unescape(w) for w in re.findall(r"<li><code>([^<]*)</code></li>", shown.text)]
        # monitor validate's warnings, the file by its name (not the server's folders)
        assert warnings == [w.replace(str(tmp_path) + "/", "") for w in o.monitor.config.warnings]
        assert warnings[0] == (
            "targets.toml:40: rosters.piket: nobody is on duty from Mon 00:00 to Mon 08:00: "
            "alerts then go to the fallback 'kantor'"
        )
        assert "nobody is on duty from Mon 16:00 to Tue 08:00" in warnings[1]
        listed = await client.get("/admin/config/duty?lang=id")
        assert "Peringatan" in listed.text and "nobody is on duty from Mon 16:00" in html.unescape(listed.text)
        # A second shift filling the gap: added last, and no warning any more.
        new = await client.get("/admin/config/duty/new")
        filled = {**data, "_version": version_of(new.text), "weekly": "mon-fri 16:00-08:00\nsat 00:00-24:00\n"}
        filled["weekly"] += "sun 00:00-24:00\nmon 00:00-08:00"
        added = await client.post("/admin/config/duty/new", data=filled)
        assert added.status_code == 303, added.text
        assert added.headers["location"] == "/admin/config/duty?lang=en"
        assert len(o.monitor.config.duty) == 2 and o.monitor.config.warnings == ()
        assert o.path.read_text().endswith(
            '\n[[duty]]\nroster = "piket"\nwho = "budi-hp"\nweekly = ["mon-fri 16:00-08:00", "sat 00:00-24:00", '
            '"sun 00:00-24:00", "mon 00:00-08:00"]\n\n'
        )
        actions = [e.action for e in await o.monitor.store.audit_entries()]
        assert actions == ["config.duty.add", "config.duty.update"]


@pytest.mark.parametrize(
    ("section", "key", "data", "field", "problem"),
    [
        ("duty", "0", {"roster": "piket", "who": "nobody", "weekly": "daily 00:00-24:00"}, "who", "no notifier named"),
        ("duty", "0", {"roster": "cadangan", "who": "budi-hp", "weekly": "mon 08:00-16:00"}, "roster", "no [rosters"),
        ("duty", "0", {"roster": "piket", "who": "budi-hp", "weekly": "mon 25:00-26:00"}, "weekly", "not a time"),
        ("duty", "0", {"roster": "piket", "who": "budi-hp", "weekly": "senin 08:00-16:00"}, "weekly", "unknown day"),
        (
            "duty",
            "0",
            {"roster": "piket", "who": "budi-hp", "start": "2027-03-30T08:00:00", "end": "2027-03-29T08:00:00"},
            "end",
            "must be after start",
        ),
        ("duty", "0", {"roster": "piket", "who": "budi-hp", "start": "besok pagi"}, "start", "date-time"),
        ("rosters", "piket", {"fallback": "kantor", "escalate_after": "5s"}, "escalate_after", "at least"),
        ("rosters", "piket", {"fallback": "tidak-ada"}, "fallback", "no notifier named 'tidak-ada'"),
    ],
)
async def test_an_invalid_value_shows_next_to_its_input_and_leaves_the_file_as_it_was(
    tmp_path, section: str, key: str, data: dict[str, str], field: str, problem: str
) -> None:
    async with office(tmp_path, start=False, extra=DUTY) as o:
        client, csrf = await o.login("siti")
        form = await client.get(f"/admin/config/{section}/{key}/edit")
        before = o.path.read_bytes()
        bad = await client.post(
            f"/admin/config/{section}/{key}/edit", data={"csrf": csrf, "_version": version_of(form.text), **data}
        )
        assert bad.status_code == 400
        assert problem in problem_of(bad.text, field)
        assert f'aria-invalid="true" aria-describedby="p-{field}"' in bad.text
        assert o.path.read_bytes() == before
        assert not (tmp_path / "targets.toml.1").exists()
        assert await o.monitor.store.audit_entries() == []


async def test_rosters_and_shifts_through_the_json_api_answer_the_warnings(tmp_path) -> None:
    async with office(tmp_path, start=False, extra=DUTY) as o:
        client = o.client()
        got = await client.get("/admin/api/config/rosters", headers=BEARER)
        assert got.status_code == 200
        validate(got.json(), "SectionItems")
        assert got.json()["items"] == [{"key": "piket", "keys": {"fallback": "kantor"}}]
        before = o.path.read_text()
        stale = await client.put(
            "/admin/api/config/rosters/darurat",
            json={"fallback": "kantor"},
            headers={**BEARER, "If-Match": '"' + "0" * 64 + '"'},
        )
        assert stale.status_code == 409
        bad = await client.put("/admin/api/config/rosters/darurat", json={"fallback": "tidak-ada"}, headers=BEARER)
        assert bad.status_code == 400
        validate(bad.json(), "Rejected")
        assert [p["key"] for p in bad.json()["problems"]] == ["rosters.darurat.fallback"]
        assert o.path.read_text() == before
        added = await client.put(
            "/admin/api/config/rosters/darurat",
            json={"fallback": "kantor", "escalate_after": "10m"},
            headers={**BEARER, "If-Match": f'"{got.json()["version"]}"'},
        )
        assert added.status_code == 201, added.text
        validate(added.json(), "SectionWritten")
        # A roster nobody is on: written, and said.
        assert added.json()["warnings"] == [w.replace(str(tmp_path) + "/", "") for w in o.monitor.config.warnings]
        assert added.json()["warnings"] == [
            "targets.toml:43: rosters.darurat: nobody is ever on duty: alerts go to the fallback 'kantor'"
        ]
        shift = {"roster": "darurat", "who": "budi-hp", "start": "2027-03-29T08:00:00+07:00"}
        shift["end"] = "2027-03-30T08:00:00+07:00"
        put = await client.post("/admin/api/config/duty", json=shift, headers=BEARER)
        assert put.status_code == 201, put.text
        validate(put.json(), "SectionWritten")
        assert put.json()["warnings"] == []
        roster = '[rosters.darurat]\nfallback = "kantor"\nescalate_after = "10m"\n\n'
        expected = before.replace("\n[[duty]]\n", f"\n{roster}[[duty]]\n") + (
            '\n[[duty]]\nroster = "darurat"\nwho = "budi-hp"\nstart = 2027-03-29T08:00:00+07:00\n'
            "end = 2027-03-30T08:00:00+07:00\n\n"
        )
        assert o.path.read_text() == expected
        listed = (await client.get("/admin/api/config/duty", headers=BEARER)).json()
        validate(listed, "SectionItems")
        assert [i["keys"]["start"] for i in listed["items"][1:]] == ["2027-03-29T08:00:00+07:00"]
        still_named = await client.delete("/admin/api/config/rosters/darurat", headers=BEARER)
        assert still_named.status_code == 400 and "no [rosters.darurat] table" in still_named.text
        assert (await client.delete("/admin/api/config/duty/1", headers=BEARER)).status_code == 204
        assert (await client.delete("/admin/api/config/rosters/darurat", headers=BEARER)).status_code == 204
        assert o.path.read_text() == before + "\n"  # the blank line put before the added shift stays
        actions = [e.action for e in await o.monitor.store.audit_entries()]
        assert actions == [
            "config.rosters.delete",
            "config.duty.delete",
            "config.duty.add",
            "config.rosters.add",
        ]


async def test_viewers_and_operators_read_rosters_only_admins_write_and_csrf_is_needed(tmp_path) -> None:
    async with office(tmp_path, start=False, extra=DUTY) as o:
        before = o.path.read_bytes()
        for name in ("tamu", "budi"):
            client, csrf = await o.login(name)
            for section, shown in (("rosters", "<code>kantor</code>"), ("duty", "<code>budi-hp</code>")):
                listed = await client.get(f"/admin/config/{section}")
                assert listed.status_code == 200 and shown in listed.text
                assert "/edit?" not in listed.text and f"/admin/config/{section}/new" not in listed.text
            assert (await client.get("/admin/config/rosters/piket/edit")).status_code == 403
            refused = await client.post("/admin/config/rosters/piket/edit", data={"csrf": csrf, "fallback": "x"})
            assert refused.status_code == 403
            put = await client.put(
                "/admin/api/config/rosters/piket", json={"fallback": "kantor"}, headers={"X-CSRF-Token": csrf}
            )
            assert put.status_code == 403 and "admin role" in put.json()["error"]
            nav = (await client.get("/admin")).text
            assert "/admin/config/rosters?" in nav and "/admin/config/duty?" in nav
        admin, admin_csrf = await o.login("siti")
        page = await admin.get("/admin/config/duty/0/edit")
        no_csrf = await admin.post(
            "/admin/config/duty/0/edit", data={"_version": version_of(page.text), "roster": "piket", "who": "kantor"}
        )
        assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
        assert csrf_of(page.text) == admin_csrf
        no_header = await admin.put("/admin/api/config/rosters/piket", json={"fallback": "kantor"})
        assert no_header.status_code == 403
        assert o.path.read_bytes() == before
        assert await o.monitor.store.audit_entries() == []
