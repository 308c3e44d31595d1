"""Answering a `WWW-Authenticate` challenge, for the HTTP and RTSP probes alike (RTSP
borrows HTTP's authentication): Basic, and Digest as RFC 7616 defines it (MD5, SHA-256
and their `-sess` variants, `qop=auth` or the older answer without qop, `userhash`).

`pick_challenge(values)` chooses the strongest challenge we can answer among a
response's `WWW-Authenticate` values; `Challenge.answer(...)` is the `Authorization`
value for one request. `qop=auth-int` (a hash of the body) is not offered by the
cameras, recorders and APIs this monitor checks and is not answered.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.request import parse_http_list, parse_keqv_list

_HASHES = {"MD5": "md5", "SHA-256": "sha256"}  # Digest algorithm -> hashlib name


@dataclass(frozen=True)
class Challenge:
    """One `WWW-Authenticate` challenge: `scheme` "basic" or "digest" and its params."""

    scheme: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def stale(self) -> bool:
        """The server refused only the nonce (it expired), not the password."""
        return dict(self.params).get("stale", "").lower() == "true"

    def answer(self, method: str, uri: str, username: str, password: str, nc: int) -> str:
        """The Authorization value; `uri` is the request target as sent (an HTTP path
        and query, an RTSP URL); `nc` counts the requests answered with this challenge,
        this one included."""
        if self.scheme == "basic":
            return basic(username, password)
        return digest(dict(self.params), method, uri, username, password, nc)


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def pick_challenge(values: list[str], schemes: tuple[str, ...] = ("digest", "basic")) -> Challenge | None:
    """The strongest challenge we can answer among `schemes`: Digest (MD5 or SHA-256)
    before Basic. A Digest challenge we cannot answer (another algorithm, no nonce, a
    parameter without "=") is skipped."""
    found: dict[str, Challenge] = {}
    for value in values:
        scheme, _, rest = value.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            found.setdefault("basic", Challenge("basic"))
        elif scheme == "digest":
            try:
                params = parse_keqv_list(parse_http_list(rest))
            except ValueError:  # a parameter without "=": not a challenge we can answer
                continue
            algorithm = params.get("algorithm", "MD5").upper().removesuffix("-SESS")
            qops = _qops(params)
            if algorithm in _HASHES and "nonce" in params and (not qops or "auth" in qops):
                # RFC 7616 §3.7: a server may send one challenge per algorithm, the
                # preferred first; the first we can answer wins.
                found.setdefault("digest", Challenge("digest", tuple(sorted(params.items()))))
    for scheme in ("digest", "basic"):
        if scheme in schemes and scheme in found:
            return found[scheme]
    return None


def offered(values: list[str]) -> str:
    """The schemes a response's challenges name, for a detail ("Basic, Negotiate")."""
    names = [value.strip().partition(" ")[0] for value in values if value.strip()]
    return ", ".join(dict.fromkeys(names)) or "none"


def _qops(params: dict[str, str]) -> list[str]:
    return [q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()]


def digest(
    params: dict[str, str], method: str, uri: str, username: str, password: str, nc: int, cnonce: str | None = None
) -> str:
    """The `Authorization: Digest ...` value for one request (RFC 7616, RFC 2617);
    `cnonce` is random unless given (the RFC's examples give it)."""
    algorithm = params.get("algorithm", "MD5")
    hash_name = _HASHES[algorithm.upper().removesuffix("-SESS")]

    def h(text: str) -> str:
        return hashlib.new(hash_name, text.encode("utf-8")).hexdigest()

    realm, nonce = params.get("realm", ""), params["nonce"]
    cnonce = cnonce or secrets.token_hex(8)
    ha1 = h(f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    userhash = params.get("userhash", "").lower() == "true"
    fields = {"username": h(f"{username}:{realm}") if userhash else username, "realm": realm, "nonce": nonce}
    fields["uri"] = uri
    if "auth" in _qops(params):
        count = f"{nc:08x}"
        fields["response"] = h(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
        extra = f', qop=auth, nc={count}, cnonce="{cnonce}"'
    else:
        fields["response"] = h(f"{ha1}:{nonce}:{ha2}")
        extra = ""
    if "opaque" in params:
        fields["opaque"] = params["opaque"]
    if userhash:
        extra += ", userhash=true"
    quoted = ", ".join(f'{k}="{v}"' for k, v in fields.items())
    return f"Digest {quoted}, algorithm={algorithm}{extra}"
