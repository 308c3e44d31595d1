"""Showing configuration to admins without its secrets."""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.web.masking import origin, redact, scrub, secret_values, settings, target_secrets


@dataclass(frozen=True)
class Spec:
    url: str
    token: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    timeout: float = 10.0
    verify: bool = True


SPEC = Spec(
    url="https://bot:pa55word@hooks.example/x",
    token="tok-123456",
    headers=(("Authorization", "Bearer abcdef"),),
    labels=(("team", "ops"),),
)


def test_secret_fields_are_masked_and_the_rest_shown() -> None:
    assert settings(SPEC, ("token", "headers")) == [
        ("url", "https://hooks.example/…"),
        ("token", "***"),
        ("headers", "Authorization: ***"),
        ("labels", "team=ops"),
        ("timeout", "10"),
        ("verify", "true"),
    ]


def test_unset_fields_and_non_dataclasses_show_nothing() -> None:
    assert settings(Spec(url="http://a"), ("token",)) == [("url", "http://a"), ("timeout", "10"), ("verify", "true")]
    assert settings(None, ()) == []


def test_errors_lose_every_secret_value_including_url_passwords() -> None:
    secrets = set(secret_values(SPEC, ("token", "headers")))
    assert secrets == {"tok-123456", "Bearer abcdef", "pa55word"}
    text = "POST https://bot:pa55word@hooks.example/x with tok-123456 and Bearer abcdef failed"
    assert scrub(text, secrets) == "POST https://hooks.example/… with *** and *** failed"
    assert scrub("a b c", {"b"}) == "a b c"  # too short to be told from ordinary text
    assert scrub(None, secrets) == ""


def test_a_url_shows_only_its_scheme_and_host() -> None:
    assert origin("https://u:p@hc-ping.example/0b1c-key?x=1") == "https://hc-ping.example/…"
    assert origin("https://hc-ping.example:8443?token=x") == "https://hc-ping.example:8443/…"
    assert origin("https://hc-ping.example") == "https://hc-ping.example"
    assert origin("https://www.example/") == "https://www.example/"
    assert origin("http://[::1]:8080/x") == "http://[::1]:8080/…"
    assert origin("http://[::1") == "***"  # not a URL Python can split: nothing of it shown


def test_every_url_in_a_text_is_cut_to_its_scheme_and_host() -> None:
    text = "POST https://hooks.example/t/0b1c?sig=x failed (see http://[::1]:9/doc/a.html), then 'rtsp://cam/ch1'."
    assert scrub(text, ()) == ("POST https://hooks.example/… failed (see http://[::1]:9/…), then 'rtsp://cam/…'.")
    assert redact("rtsp://viewer:hunter2@10.0.0.5/ch1") == "rtsp://viewer:***@10.0.0.5/ch1"
    assert redact(None) == ""


@dataclass(frozen=True)
class ProbeSpec:
    host: str
    password: str | None = field(default=None, repr=False)
    headers: tuple[tuple[bytes, bytes], ...] = field(default=(), repr=False)


def test_a_targets_secrets_are_its_url_password_and_the_fields_kept_out_of_repr() -> None:
    spec = ProbeSpec("cam.local", "hunter2", ((b"authorization", b"Bearer abc123"),))
    found = set(target_secrets("rtsp://viewer:pw-in-url@cam.local/ch1", spec))
    assert found == {"pw-in-url", "hunter2", "Bearer abc123"}
    assert set(target_secrets("https://example/", None)) == set()
