"""One HTTP probe's exchange with the server: resolve, connect, (TLS), request, follow
redirects hop by hop, read the body under a cap, and time every phase.

httpx is the client API and its transport interface the seam: requests go straight to
a transport's `handle_async_request`, with no `AsyncClient` (whose construction costs
more than a loopback request). The name is resolved here, timed as its own phase, and
the request is sent to the address with `Host` and the `sni_hostname` extension naming
the host, so certificate checks still see the name. The other phases come from
httpcore's `trace` extension; an event carrying the transport's arrival time (`AT`,
`monitor.probes.fasthttp`) is marked at that time rather than when the trace runs, and
`finished` is when the last body's last byte arrived: the end of the probe's duration.

The transport: without `ctx.http_transport`, httpx's default transport is built per
probe around the cached `SSLContext` (cheap: no context, no client), which guarantees a
fresh connection. A transport given in `ctx.http_transport` is shared by all targets, so
its contract is: honour the request extensions `ssl_context` (the target's cached
context), `sni_hostname` and `trace` (httpcore's event names, for the phases), open a
fresh connection per request (requests carry `Connection: close`), and put the
`network_stream` extension on the response when it can (for the certificate's expiry).

Bodies are read raw and decoded here (`monitor.probes.http_decode`), never more than
`max_body` bytes after decompression, so a decompression bomb or an endless body costs
bounded memory; a body whose coding we cannot undo is `unsupported_encoding` when a check
needs it.

Digest authentication (`auth = "digest"`): the first request goes without credentials;
a 401 from the configured origin with a Digest challenge is answered once, on a fresh
connection and within the same deadline; a second 401 is `auth_failed`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import httpx

from monitor.probes import tlsutil
from monitor.probes.fasthttp import AT
from monitor.probes.http_decode import BodyDecoder, UnsupportedEncoding, too_large
from monitor.probes.httpauth import offered, pick_challenge
from monitor.probes.network import Failure, ProbeFailed, classify, resolve, verification_error
from monitor.result import Reason

if TYPE_CHECKING:
    from monitor.probes.base import ProbeContext
    from monitor.probes.http import HttpSpec

_NO_HEADERS: Mapping[str, str] = MappingProxyType({})  # shared: an empty httpx.Headers costs a probe 2 µs
REDIRECTS = frozenset((301, 302, 303, 307, 308))
PHASES = ("resolve", "connect", "tls", "processing", "transfer")
_SPANS = (  # phase, trace event that starts it, trace event that ends it
    ("connect", "connection.connect_tcp.started", "connection.connect_tcp.complete"),
    ("tls", "connection.start_tls.started", "connection.start_tls.complete"),
    ("processing", "http11.send_request_headers.started", "http11.receive_response_headers.complete"),
)
# What the exchange was doing, by the last trace event seen: for a timeout's detail.
_STAGES = {
    "connection.connect_tcp.started": "connecting",
    "connection.start_tls.started": "in the TLS handshake",
    "http11.send_request_headers.started": "sending the request",
    "http11.send_request_body.complete": "waiting for the response headers",
    "http11.receive_response_headers.complete": "reading the body",
}


class Exchange:
    """Runs one probe's requests; the caller bounds `run()` by the deadline and always
    calls `close()`. Facts gathered so far (phases, status, expiry) survive a timeout."""

    def __init__(self, spec: HttpSpec, ctx: ProbeContext) -> None:
        self.spec = spec
        self.phases = dict.fromkeys(PHASES, 0.0)
        self.status_code: int | None = None
        self.cert_expiry: float | None = None
        # A peer whose certificate failed verification: (address, port, SNI) for the
        # caller to read the expiry from, within what is left of the deadline.
        self.unverified: tuple[str, int, str] | None = None
        self.headers: Mapping[str, str] = _NO_HEADERS  # the last response's, once there is one
        self.body = b""
        self.stage = "resolving the name"
        self._marks: dict[str, float] = {}
        self.finished: float | None = None  # perf_counter time the last body was complete
        self._ssl = ctx.tls.client(spec.verify_tls, spec.ca_file)
        self._own = ctx.http_transport is None
        self._transport = ctx.http_transport or httpx.AsyncHTTPTransport(verify=self._ssl)
        self._response: httpx.Response | None = None

    async def run(self) -> None:
        """Fetch the URL, following redirects; raises `ProbeFailed`."""
        spec = self.spec
        url, method, body, headers = spec.url, spec.method, spec.body, spec.headers
        for hop in range(spec.max_redirects + 1):
            response = await self._fetch(url, method, headers, body)
            if response.status_code == 401 and spec.digest is not None and self._same_origin(url):
                response = await self._answer_digest(response, url, method, headers, body)
            location = response.headers.get("location") if response.status_code in REDIRECTS else None
            if location is None or spec.max_redirects == 0:
                await self._read_body(response)
                return
            await self._close_response()
            if hop == spec.max_redirects:
                break
            url, method, body, headers = self._next_hop(url, location, response.status_code, method, body, headers)
        raise ProbeFailed(Failure(Reason.TOO_MANY_REDIRECTS, f"more than {spec.max_redirects} redirects"))

    def _same_origin(self, url: httpx.URL) -> bool:
        origin = self.spec.url
        return (url.scheme, url.raw_host, url.port) == (origin.scheme, origin.raw_host, origin.port)

    async def _answer_digest(
        self,
        response: httpx.Response,
        url: httpx.URL,
        method: str,
        headers: tuple[tuple[bytes, bytes], ...],
        body: bytes | None,
    ) -> httpx.Response:
        """Answer a 401's Digest challenge once; a second 401 is `auth_failed`."""
        creds = self.spec.digest
        assert creds is not None
        values = response.headers.get_list("www-authenticate")
        challenge = pick_challenge(values, ("digest",))
        if challenge is None:
            raise ProbeFailed(
                Failure(
                    Reason.AUTH_FAILED,
                    f"HTTP 401 without a Digest challenge we can answer (offered: {offered(values)})",
                )
            )
        await self._close_response()
        uri = url.raw_path.decode("ascii")
        answer = challenge.answer(method, uri, creds.username, creds.password, 1)
        response = await self._fetch(url, method, (*headers, (b"Authorization", answer.encode("utf-8"))), body)
        if response.status_code == 401:
            raise ProbeFailed(Failure(Reason.AUTH_FAILED, "HTTP 401: username or password rejected"))
        return response

    async def close(self) -> None:
        await self._close_response()
        if self._own:
            await self._transport.aclose()

    def _next_hop(
        self,
        url: httpx.URL,
        location: str,
        status: int,
        method: str,
        body: bytes | None,
        headers: tuple[tuple[bytes, bytes], ...],
    ) -> tuple[httpx.URL, str, bytes | None, tuple[tuple[bytes, bytes], ...]]:
        try:
            target = url.join(location)
            if (target.port or 0) > 65535:  # httpx accepts it; connecting would raise OverflowError
                raise httpx.InvalidURL(f"port {target.port} out of range")
        except httpx.InvalidURL as exc:
            raise ProbeFailed(Failure(Reason.INVALID_RESPONSE, f"bad redirect location {location!r}")) from exc
        # raw_host, not host: decoding an A-label ("xn--") the idna package rejects raises.
        if target.scheme not in ("http", "https") or not target.raw_host:
            raise ProbeFailed(Failure(Reason.INVALID_RESPONSE, f"redirect to unsupported URL {location!r}"))
        # As browsers do: 303, and 301/302 after a POST, continue with a GET and no body.
        if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
            method, body = "GET", None
            headers = tuple(h for h in headers if h[0].lower() not in (b"content-type", b"content-length"))
        if (target.scheme, target.raw_host, target.port) != (url.scheme, url.raw_host, url.port):
            # Credentials are for the configured origin only, never for where it points.
            headers = tuple(h for h in headers if h[0].lower() != b"authorization")
        return target, method, body, headers

    async def _fetch(
        self,
        url: httpx.URL,
        method: str,
        headers: tuple[tuple[bytes, bytes], ...],
        body: bytes | None,
    ) -> httpx.Response:
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        self.stage = "resolving the name"
        begun = time.perf_counter()
        try:
            addresses = await resolve(host, port)
        finally:
            self.phases["resolve"] += time.perf_counter() - begun
        extensions: dict[str, Any] = {"trace": self._trace, "ssl_context": self._ssl}
        if url.scheme == "https" and addresses[0] != host:
            extensions["sni_hostname"] = host
        all_headers = ((b"Host", url.netloc), *headers, *_length(method, body, headers))
        for i, address in enumerate(addresses):
            # `stream=`, not `content=`: httpx reads a `content=` body back at once and asserts
            # `isinstance(stream, typing.Iterable)` doing so, 6 % of an HTTP probe's CPU;
            # the headers `content=` would add are `_length`'s.
            request = httpx.Request(
                method,
                url if address == host else url.copy_with(host=address),
                headers=all_headers,
                stream=httpx.ByteStream(body or b""),
                extensions=extensions,
            )
            try:
                response = await self._send(request)
            except (httpx.TransportError, OSError) as exc:
                failure = _transport_failure(exc)
                if failure.reason == Reason.CONNECTION_REFUSED and i + 1 < len(addresses):
                    continue  # as every client does, try the host's next address
                if verification_error(exc) is not None:
                    self.unverified = (address, port, extensions.get("sni_hostname", ""))
                raise ProbeFailed(failure) from exc
            self._on_response(response)
            return response
        raise AssertionError("resolve() returns at least one address")

    async def _send(self, request: httpx.Request) -> httpx.Response:
        self._marks.clear()
        try:
            response = await self._transport.handle_async_request(request)
        finally:
            self._add_spans()
        self._response = response
        return response

    def _on_response(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        stream = response.extensions.get("network_stream")
        expiry = tlsutil.stream_expiry(stream) if stream is not None else None
        if expiry is not None and (self.cert_expiry is None or expiry < self.cert_expiry):
            self.cert_expiry = expiry

    async def _trace(self, event: str, info: Mapping[str, Any]) -> None:
        self._marks[event] = info.get(AT) or time.perf_counter()
        self.stage = _STAGES.get(event, self.stage)

    def _add_spans(self) -> None:
        marks = self._marks
        for phase, start, end in _SPANS:
            if start in marks:
                self.phases[phase] += marks.get(end, time.perf_counter()) - marks[start]

    async def _read_body(self, response: httpx.Response) -> None:
        self.stage = "reading the body"
        begun = self._marks.get("http11.receive_response_headers.complete", time.perf_counter())
        try:
            await self._consume(response)
            self.finished = self._marks.get("http11.receive_response_body.complete")
        finally:
            self.phases["transfer"] += (self.finished or time.perf_counter()) - begun

    async def _consume(self, response: httpx.Response) -> None:
        limit = self.spec.max_body
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit and "content-encoding" not in response.headers:
            raise ProbeFailed(too_large(limit, f"Content-Length is {length}"))
        keep = self.spec.expect.needs_body
        encoding = response.headers.get("content-encoding", "")
        try:
            decoder = BodyDecoder(encoding, limit)
        except UnsupportedEncoding as exc:
            if keep:  # never check a body we cannot read: it is not the body the server meant
                raise ProbeFailed(
                    Failure(Reason.UNSUPPORTED_ENCODING, f"cannot decode Content-Encoding {exc.coding!r} ({encoding})")
                ) from exc
            decoder = BodyDecoder("", limit)  # nothing to check: only its size counts
        parts: list[bytes] = []
        try:
            async for chunk in response.stream:  # type: ignore[union-attr]
                data = decoder.feed(chunk)
                if keep and data:
                    parts.append(data)
        except (httpx.TransportError, OSError) as exc:
            raise ProbeFailed(_transport_failure(exc)) from exc
        self.body = b"".join(parts)

    async def _close_response(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            await response.aclose()


_WITH_BODY = frozenset(("POST", "PUT", "PATCH"))


def _length(
    method: str, body: bytes | None, headers: tuple[tuple[bytes, bytes], ...]
) -> tuple[tuple[bytes, bytes], ...]:
    """The `Content-Length` httpx adds for `content=body`: the body's length when there
    is one, 0 for a POST, PUT or PATCH without one, none when the request sets its own
    length or `Transfer-Encoding`."""
    if any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in headers):
        return ()
    if body:
        return ((b"Content-Length", str(len(body)).encode("ascii")),)
    return ((b"Content-Length", b"0"),) if method in _WITH_BODY else ()


def _transport_failure(exc: BaseException) -> Failure:
    if isinstance(exc, httpx.TimeoutException):
        return Failure(Reason.TIMEOUT, "timed out")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError | httpx.DecodingError):
        return Failure(Reason.INVALID_RESPONSE, f"invalid HTTP response: {exc}")
    failure = classify(exc)
    if failure.reason == Reason.ERROR and isinstance(exc, httpx.ReadError):
        return Failure(Reason.CONNECTION_RESET, f"connection lost: {exc or type(exc).__name__}")
    return failure
