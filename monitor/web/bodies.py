"""Reading a request body with its size limit applied before reading.

Every route that takes a body reads it through `read_body`: a `Content-Length` above the
limit is refused before a byte of the body is read, and a body sent without one
(chunked) is read only until it passes the limit. The `413` answer (`too_large`) closes
the connection, so the server does not read and drop the rest either.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None when it is larger than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def too_large(limit: int) -> Response:
    """`413` for a body over `limit` bytes, closing the connection."""
    return JSONResponse(
        {"error": f"request body too large (at most {limit} bytes)"}, 413, headers={"Connection": "close"}
    )
