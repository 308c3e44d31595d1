"""TLS helpers shared by the probes that speak TLS (http, tcp with tls, tls).

Certificate expiry must be reported even when verification fails, so expiry is read from
the peer's DER certificate, which `ssl` gives even with verification off.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from typing import Any, Protocol

from cryptography import x509


class TlsContextCache:
    """Client `SSLContext`s by (verify, ca_file). Building one loads the trust store and
    costs milliseconds; they are immutable once built, so probes share them."""

    def client(self, verify: bool, ca_file: str | None) -> ssl.SSLContext:
        return client_context(verify, ca_file)


@lru_cache(maxsize=64)
def client_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """The shared client context for these settings (HTTP/1.1 offered by ALPN)."""
    if not verify:
        return insecure_context()
    context = ssl.create_default_context(cafile=ca_file)
    context.set_alpn_protocols(["http/1.1"])
    return context


@lru_cache(maxsize=1)
def insecure_context() -> ssl.SSLContext:
    """A context that accepts any certificate: used to read an untrusted peer's expiry."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


def der_expiry(der: bytes) -> float | None:
    """The notAfter of a DER certificate as unix time, or None if it cannot be parsed."""
    try:
        return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()
    except ValueError:
        return None


def peer_expiry(sslobj: ssl.SSLObject | ssl.SSLSocket) -> float | None:
    """The earliest expiry of the peer's chain where Python exposes it (3.13+), else the
    leaf certificate's."""
    chain = getattr(sslobj, "get_unverified_chain", None)
    if chain is not None:
        try:
            # Python 3.13+: the chain as certificates; 1 is _ssl.ENCODING_DER (not exported).
            ders = [c if isinstance(c, bytes) else c.public_bytes(1) for c in chain() or []]
            expiries = [e for e in map(der_expiry, ders) if e is not None]
            if expiries:
                return min(expiries)
        except (ssl.SSLError, ValueError, AttributeError):
            pass
    der = sslobj.getpeercert(binary_form=True)
    return der_expiry(der) if der else None


class _Stream(Protocol):
    def get_extra_info(self, name: str, /) -> Any: ...


def stream_expiry(stream: _Stream) -> float | None:
    """`peer_expiry` of a connection (an asyncio `StreamWriter` or transport, httpcore's
    `network_stream`), None when it does not speak TLS."""
    sslobj = stream.get_extra_info("ssl_object")
    return peer_expiry(sslobj) if sslobj is not None else None
