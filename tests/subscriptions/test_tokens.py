"""The signed links: what a confirmation link asks for comes back only with our key,
unchanged and before it expires; an unsubscribe link is never a confirmation link."""

from __future__ import annotations

from monitor.subscriptions.tokens import (
    Request,
    confirm_token,
    read_confirm,
    read_unsubscribe,
    unsubscribe_token,
)

KEY, OTHER = b"k" * 32, b"o" * 32
ASKED = Request("warga@example.go.id", ("web",), ("Kesehatan",), "id", 1_800_000_000.0)


def test_a_confirmation_link_gives_back_what_was_asked_until_it_expires() -> None:
    token = confirm_token(KEY, ASKED)
    assert read_confirm(KEY, token, ASKED.expires - 1) == ASKED
    assert read_confirm(KEY, token, ASKED.expires) is None


def test_a_link_signed_with_another_key_or_changed_is_refused() -> None:
    token = confirm_token(KEY, ASKED)
    assert read_confirm(OTHER, token, 0.0) is None
    payload, _, mac = token.partition(".")
    forged = confirm_token(KEY, Request("penyerang@example.go.id", (), (), "id", ASKED.expires)).partition(".")[0]
    assert read_confirm(KEY, f"{forged}.{mac}", 0.0) is None
    for broken in ("", ".", payload, f"{payload}.", f"{payload}.{mac[:-2]}", "é.é", f"{payload}.{mac}x"):
        assert read_confirm(KEY, broken, 0.0) is None


def test_an_unsubscribe_link_names_its_subscriber_and_is_no_confirmation() -> None:
    token = unsubscribe_token(KEY, 42)
    assert read_unsubscribe(KEY, token) == 42
    assert read_unsubscribe(OTHER, token) is None
    assert read_confirm(KEY, token, 0.0) is None
    assert read_unsubscribe(KEY, confirm_token(KEY, ASKED)) is None
