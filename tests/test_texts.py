"""The one text catalogue (`templates/texts/`): complete in both languages, and holding
every key a template or the code asks for, so a missing text fails here rather than on a
page, in a report or in an alert."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from monitor.notifiers.base import ALERT_KINDS, Alert
from monitor.notifiers.texts import Texts
from monitor.resources import templates_dir
from monitor.texts import LANGUAGES, REASONS, STATES, Catalog, load_catalog
from monitor.web.graphics import OVERALL_ICONS

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"

# What a text left half-written looks like: an unfilled marker, or the machine code itself.
LEFTOVER = re.compile(r"\{|\}|TODO|FIXME|XXX|\?\?\?|%s")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(templates_dir())


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("state", STATES)
def test_every_state_reads_in_words_in_both_languages(catalog: Catalog, state: str, lang: str) -> None:
    text = catalog.words(lang).state(state)
    assert text.strip() and not LEFTOVER.search(text) and text != state
    assert text[0].isupper(), f"{state} in {lang} is not in sentence case: {text!r}"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("code", [*REASONS, "other"])
def test_every_reason_reads_in_words_in_both_languages(catalog: Catalog, code: str, lang: str) -> None:
    assert f"reason.{code}" in catalog, f"reason {code!r} is not in templates/texts/shared.toml"
    text = catalog.words(lang).reason(code)
    assert text.strip() and not LEFTOVER.search(text) and text != code
    assert text[0].isupper(), f"{code} in {lang} is not in sentence case: {text!r}"


def test_the_reasons_are_the_shared_ones_and_nothing_else(catalog: Catalog) -> None:
    listed = {key.removeprefix("reason.") for key in catalog if key.startswith("reason.")}
    assert listed == {*REASONS, "other"}
    assert {key.removeprefix("state.") for key in catalog if key.startswith("state.")} == set(STATES)


def test_two_reasons_never_read_the_same_unless_one_is_the_fallback(catalog: Catalog) -> None:
    for lang in LANGUAGES:
        words = catalog.words(lang)
        seen: dict[str, str] = {}
        for code in REASONS:
            text = words.reason(code)
            if code != "error":  # a check that failed for no more precise reason
                assert text not in seen, f"{code} and {seen.get(text)} both read {text!r} in {lang}"
            seen[text] = code


def test_an_unknown_reason_reads_as_the_fallback(catalog: Catalog) -> None:
    assert catalog.words("en").reason("rcode_mismatch") == "The check failed"
    assert catalog.words("id").reason("rcode_mismatch") == "Pemeriksaan gagal"


def test_every_text_has_both_languages_with_the_same_placeholders(catalog: Catalog) -> None:
    assert len(catalog) > 100
    for key in catalog:
        entry = catalog.entries[key]
        for lang in LANGUAGES:
            assert entry[lang].strip(), f"{key} has no {lang} text"
        assert placeholders(entry["id"]) == placeholders(entry["en"]), key


def test_a_key_in_two_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "texts").mkdir()
    for name in ("a.toml", "b.toml"):
        (tmp_path / "texts" / name).write_text('[x.y]\nid = "satu"\nen = "one"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"'x.y' is in both a.toml and b.toml"):
        load_catalog(tmp_path)


def test_an_entry_without_both_languages_is_refused(tmp_path: Path) -> None:
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.toml").write_text('[x.y]\nen = "one"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"x.y.en: an entry needs exactly id and en"):
        load_catalog(tmp_path)


def keys_named(catalog: Catalog) -> dict[str, set[str]]:
    """Every literal key in the templates and the package, with the files naming it: a
    quoted "section.name" whose section is one of the catalogue's (template file names
    such as "target.html.j2" and the audit log's actions aside)."""
    sections = sorted({key.split(".")[0] for key in catalog if "." in key})
    literal = re.compile("[\"']((?:" + "|".join(sections) + r")\.\w+(?:\.\w+)*)[\"']")
    named: dict[str, set[str]] = {}
    for path in [*templates_dir().rglob("*.j2"), *PACKAGE.rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for match in literal.finditer(text):
            # An audit log's action ("target.note") is a machine name, not a text.
            if text[: match.start()].endswith("audit(request, "):
                continue
            if not match.group(1).endswith(".j2"):
                named.setdefault(match.group(1), set()).add(path.name)
    return named


def test_every_key_the_templates_and_the_code_name_is_in_the_catalogue(catalog: Catalog) -> None:
    named = keys_named(catalog)
    assert len(named) > 100
    assert {key: sorted(where) for key, where in named.items() if key not in catalog} == {}


def test_every_key_looked_up_by_value_is_in_the_catalogue(catalog: Catalog) -> None:
    # The banner is "overall." ~ overall (one of the page's OVERALL_ICONS); the language
    # switch names each language in its own words; dates name the months.
    assert {f"overall.{name}" for name in OVERALL_ICONS} <= set(catalog)
    assert {"lang", "months"} <= set(catalog)
    assert all(len(catalog.words(lang)("months").split()) == 12 for lang in LANGUAGES)


def test_every_text_in_the_catalogue_is_used(catalog: Catalog) -> None:
    by_value = {f"overall.{name}" for name in OVERALL_ICONS} | {"lang", "months"}
    by_code = ("state.", "reason.")
    named = keys_named(catalog)
    unused = [k for k in catalog if k not in named and k not in by_value and not k.startswith(by_code)]
    assert unused == []


AT = 1_800_000_000.0


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_every_alert_template_renders_every_kind_in_both_languages(kind: str, lang: str) -> None:
    texts = Texts(lang, "Asia/Jakarta", "Status Pemkab")
    alert = Alert(
        id="web:x",
        kind=kind,
        target="web",
        name="Website",
        group="Layanan publik",
        old="UP",
        new="DOWN" if kind in ("down", "reminder", "refresh", "escalation") else "UP",
        reason="timeout",
        detail="no answer within 10s",
        at=AT,
        since=AT - 3725,
        duration=3725.0,
        url="https://status.example.go.id/targets/web",
        dependents=("CCTV lobi",),
        cert_days=9,
        cert_expiry=AT + 9 * 86400,
    )
    for template in (
        "title.txt.j2",
        "text.txt.j2",
        "telegram.html.j2",
        "email.html.j2",
        "slack.md.j2",
        "discord.md.j2",
    ):
        text = texts.render(template, alert)
        assert text.strip() and not LEFTOVER.search(text), (template, text)
    about_the_monitor = kind in (
        "test",
        "storage_failing",
        "storage_recovered",
        "connectivity_lost",
        "connectivity_restored",
    )
    assert ("Status Pemkab" if about_the_monitor else "Website") in texts.render("title.txt.j2", alert)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_notify_test_line_renders_in_both_languages(lang: str) -> None:
    texts = Texts(lang, "Asia/Jakarta", "Status Pemkab")
    for outcome in ("delivered", "unknown", "none", "failed"):
        line = texts.render("notify_test.txt.j2", name="oncall", type="telegram", outcome=outcome, error="HTTP 404")
        assert line.strip() and "\n" not in line


def storage_reasons() -> set[str]:
    """Every short reason a backend gives a failing store (`StoreHealth.reason`)."""
    from monitor.store.postgres import failures as pg
    from monitor.store.sqlite import failures as lite

    return {*lite._BY_CODE.values(), *lite._BY_ERRNO.values(), *pg._BY_STATE.values(), pg.UNREACHABLE}


def test_every_reason_a_store_fails_with_reads_in_indonesian() -> None:
    texts = Texts("id", "Asia/Jakarta", "Status Pemkab")
    reasons = storage_reasons() | {"authentication failed"}
    for reason in sorted(reasons):
        alert = Alert(
            "monitor:storage_failing:1", "storage_failing", "monitor", "Status Pemkab", "", "", "", reason, AT
        )
        title = texts.render("title.txt.j2", alert)
        assert "penyimpanan gagal" in title and reason not in title, (reason, title)
