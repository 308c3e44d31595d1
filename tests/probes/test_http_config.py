"""The http kind's keys as `load_config` reads them from a real file: every option
accepted, and each mistake reported with its key path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.config.loader import load_config
from monitor.errors import ConfigError
from monitor.probes.http import DEFAULT_MAX_BODY, HttpSpec


def load(tmp_path: Path, keys: str, url: str = "https://www.example.go.id/") -> HttpSpec:
    path = tmp_path / "targets.toml"
    path.write_text(f'[targets.web]\nurl = "{url}"\n{keys}\n', encoding="utf-8")
    spec = load_config(path).targets["web"].spec
    assert isinstance(spec, HttpSpec)
    return spec


def problems(tmp_path: Path, keys: str, url: str = "https://www.example.go.id/") -> list[str]:
    with pytest.raises(ConfigError) as failed:
        load(tmp_path, keys, url)
    return [f"{p.path}: {p.message}" for p in failed.value.problems]


def test_it_reads_every_http_option(tmp_path: Path, ca_file: str) -> None:
    spec = load(
        tmp_path,
        f'''
method = "post"
headers = {{ "X-Api-Key" = "k", Accept = "application/json" }}
body = "{{}}"
expect_status = ["2xx", 304, "401"]
body_contains = "Kotawaringin"
body_not_contains = ["Error", "Fatal"]
body_regex = "v\\\\d+"
json = {{ status = "ok", "items.0.name" = "simpeg", db = {{ up = true }} }}
expect_headers = {{ "Content-Type" = "^application/json" }}
max_redirects = 0
ca_file = "{ca_file}"
username = "admin"
password = "rahasia"
max_body = "512KiB"
''',
    )
    assert spec.method == "POST"
    assert spec.body == b"{}"
    assert spec.expect.status == frozenset([*range(200, 300), 304, 401])
    assert spec.expect.status_text == "2xx or 304 or 401"
    assert spec.expect.contains == ("Kotawaringin",)
    assert spec.expect.not_contains == ("Error", "Fatal")
    assert spec.expect.regex is not None and spec.expect.regex.pattern == r"v\d+"
    assert [(j.path, j.expected) for j in spec.expect.json] == [
        ("status", "ok"),
        ("items.0.name", "simpeg"),
        ("db.up", True),
    ]
    assert spec.expect.headers[0][0] == "content-type"
    assert (spec.max_redirects, spec.verify_tls, spec.ca_file, spec.max_body) == (0, True, ca_file, 512 * 1024)
    headers = dict(spec.headers)
    assert headers[b"X-Api-Key"] == b"k"
    assert headers[b"Accept"] == b"application/json"
    assert headers[b"Authorization"].startswith(b"Basic ")
    assert "rahasia" not in repr(spec) and "Authorization" not in repr(spec)


def test_it_defaults_to_get_2xx_ten_redirects_and_verification(tmp_path: Path) -> None:
    spec = load(tmp_path, "")
    assert (spec.method, spec.expect.status_text, spec.max_redirects, spec.verify_tls) == ("GET", "2xx", 10, True)
    assert spec.expect.status == frozenset(range(200, 300))
    assert spec.max_body == DEFAULT_MAX_BODY
    assert spec.body is None and not spec.expect.needs_body


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ('body_regex = "(unclosed"', "targets.web.body_regex: is not a valid regular expression"),
        ('expect_headers = { Server = "[" }', "targets.web.expect_headers.Server: is not a valid regular expression"),
        ('expect_status = ["6xx"]', "targets.web.expect_status: '6xx' is neither a status code"),
        ("expect_status = [99]", "targets.web.expect_status: 99 is neither a status code"),
        ('bodycontains = "x"', "targets.web.bodycontains: unknown key"),
        ("max_redirects = -1", "targets.web.max_redirects: must be between 0 and 50"),
        ('max_body = "lots"', "targets.web.max_body: must be a positive size"),
        ('method = "GE T"', "targets.web.method: 'GE T' is not an HTTP method"),
        ('password = "x"', "targets.web.password: needs a username"),
        ('username = "a"\nbearer_token = "t"', "targets.web.bearer_token: cannot be combined with username/password"),
        ('ca_file = "missing.pem"', "targets.web.ca_file: file"),
        ('headers = { "Bad Name" = "x" }', "targets.web.headers.Bad Name: is not a header name"),
        ("verify_tls = 1", "targets.web.verify_tls: must be true or false"),
        ("json = { when = 2024-01-01 }", "targets.web.json.when: must be a string, number"),
        ('auth = "ntlm"\nusername = "a"', "targets.web.auth: must be one of 'basic', 'digest', not 'ntlm'"),
        ('auth = "digest"', "targets.web.auth: 'digest' needs a username and password"),
        ('down_after = "2s"\ndegraded_after = "3s"', "targets.web.down_after: must be longer than degraded_after (3s)"),
        ('down_after = "10s"', "targets.web.down_after: must be shorter than the timeout (10s)"),
    ],
)
def test_it_reports_each_bad_option_with_its_key_path(tmp_path: Path, keys: str, expected: str) -> None:
    found = problems(tmp_path, keys)
    assert any(p.startswith(expected) for p in found), found


def test_digest_credentials_wait_for_the_challenge_and_stay_out_of_repr(tmp_path: Path) -> None:
    spec = load(tmp_path, 'auth = "digest"\nusername = "operator"\npassword = "Rahasia-NVR"')
    assert spec.digest is not None and (spec.digest.username, spec.digest.password) == ("operator", "Rahasia-NVR")
    assert all(name.lower() != b"authorization" for name, _ in spec.headers)
    assert "Rahasia-NVR" not in repr(spec)
    basic = load(tmp_path, 'auth = "basic"\nusername = "operator"\npassword = "x"')
    assert basic.digest is None and any(name == b"Authorization" for name, _ in basic.headers)


def test_down_after_is_inherited_and_checked_against_the_inherited_degraded_after(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(
        '[defaults]\ndegraded_after = "2s"\ndown_after = "5s"\n'
        '[targets.a]\nurl = "http://127.0.0.1/"\n[targets.b]\nurl = "http://127.0.0.1/"\ndown_after = "1s"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as failed:
        load_config(path)
    assert [f"{p.path}: {p.message}" for p in failed.value.problems] == [
        "targets.b.down_after: must be longer than degraded_after (2s)"
    ]
    path.write_text('[defaults]\ndown_after = "5s"\n[targets.a]\nurl = "http://127.0.0.1/"\n', encoding="utf-8")
    assert load_config(path).targets["a"].down_after == 5.0


def test_it_rejects_a_ca_file_that_holds_no_certificate(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate")
    assert problems(tmp_path, 'ca_file = "ca.pem"') == [
        "targets.web.ca_file: holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
    ]


def test_it_reads_ca_file_relative_to_the_configuration(tmp_path: Path, ca_file: str) -> None:
    (tmp_path / "ca.pem").write_bytes(Path(ca_file).read_bytes())
    assert load(tmp_path, 'ca_file = "ca.pem"').ca_file == str(tmp_path / "ca.pem")


def test_it_rejects_a_url_without_host(tmp_path: Path) -> None:
    found = problems(tmp_path, "", url="http:///path")
    assert any(re.match(r"targets\.web\.url: needs a host", p) for p in found), found
