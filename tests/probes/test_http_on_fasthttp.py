"""Every HTTP probe test again, with `FastTransport` as the context's transport: the
fast path must behave exactly as httpx's default transport does (same results, reasons,
details, phases, certificate expiries). The tests are collected from their own modules
unchanged; only the `ctx` fixture differs."""

from __future__ import annotations

import pytest

from monitor.probes.base import ProbeContext
from monitor.probes.fasthttp import FastTransport
from monitor.probes.tlsutil import TlsContextCache
from tests.probes import test_http, test_http_digest, test_http_exchange, test_http_tls

for _module in (test_http, test_http_exchange, test_http_tls, test_http_digest):
    globals().update({name: fn for name, fn in vars(_module).items() if name.startswith("test_")})


@pytest.fixture
def ctx() -> ProbeContext:
    return ProbeContext(tls=TlsContextCache(), http_transport=FastTransport())
