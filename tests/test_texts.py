"""The one text catalogue (`templates/texts/`): complete in both languages, and holding
every key a template asks for, so a missing text fails here rather than on a page."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from monitor.resources import templates_dir
from monitor.texts import LANGUAGES, REASONS, STATES, Catalog, load_catalog

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
