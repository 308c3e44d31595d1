"""The one Digest implementation the HTTP and RTSP probes share, against RFC 7616's own
examples, and the choice among several challenges."""

from __future__ import annotations

from urllib.request import parse_http_list, parse_keqv_list

import pytest

from monitor.probes.httpauth import Challenge, digest, pick_challenge

# RFC 7616 §3.9.1: GET /dir/index.html by Mufasa, password "Circle of Life".
RFC_CHALLENGE = {
    "realm": "http-auth@example.org",
    "qop": "auth, auth-int",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
}
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize(
    ("algorithm", "response"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_it_answers_rfc_7616s_examples(algorithm: str, response: str) -> None:
    params = {**RFC_CHALLENGE, "algorithm": algorithm}
    value = digest(params, "GET", "/dir/index.html", "Mufasa", "Circle of Life", 1, cnonce=RFC_CNONCE)
    assert value.startswith("Digest ")
    fields = parse_keqv_list(parse_http_list(value[len("Digest ") :]))
    assert fields["response"] == response
    assert (fields["qop"], fields["nc"], fields["cnonce"]) == ("auth", "00000001", RFC_CNONCE)
    assert (fields["opaque"], fields["algorithm"], fields["uri"]) == (
        RFC_CHALLENGE["opaque"],
        algorithm,
        "/dir/index.html",
    )


def test_it_prefers_the_first_digest_challenge_it_can_answer_and_digest_over_basic() -> None:
    values = [
        'Basic realm="x"',
        'Digest realm="x", nonce="1", algorithm=SHA-512-256, qop="auth"',
        'Digest realm="x", nonce="2", algorithm=SHA-256, qop="auth"',
        'Digest realm="x", nonce="3", algorithm=MD5, qop="auth"',
    ]
    chosen = pick_challenge(values)
    assert chosen is not None and dict(chosen.params)["nonce"] == "2"
    assert pick_challenge(values, ("basic",)) == Challenge("basic")
    assert pick_challenge(['Basic realm="x"'], ("digest",)) is None


def test_a_challenge_offering_only_auth_int_is_not_answered() -> None:
    assert pick_challenge(['Digest realm="x", nonce="1", qop="auth-int"']) is None


def test_userhash_sends_the_hashed_username() -> None:
    params = {"realm": "r", "nonce": "n", "qop": "auth", "algorithm": "SHA-256", "userhash": "true"}
    fields = parse_keqv_list(parse_http_list(digest(params, "GET", "/", "Mufasa", "pw", 1)[7:]))
    assert fields["username"] != "Mufasa" and len(fields["username"]) == 64
    assert fields["userhash"] == "true"
