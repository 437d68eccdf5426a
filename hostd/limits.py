"""Limits every route inherits: request bodies (per-route table) and requests in flight.

:class:`RequestGuard` is a plain ASGI layer in front of each app (API and enrolment), so a route
added by anyone gets the default body limit and the concurrency limit without doing anything; a
route that needs a bigger body adds one row to :data:`BODY_LIMITS`. The body is read here, up to
the route's limit, *before* the app sees the request: an announced ``Content-Length`` over the
limit is refused without reading a byte of the body, and a chunked body is counted as it
streams in and refused as soon as it passes the limit. Either way the answer is a 413
``body-too-large`` problem with ``Connection: close`` (the rest of the body is never read).
Connection-level limits (handshake, header and body timeouts, connection caps) live with the
listeners in ``hostd.server`` and ``hostd.tls``.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from hostd.outcomes import BODY_TOO_LARGE, OVERLOADED, ProblemKind

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

KIB = 1024
MIB = 1024 * KIB

DEFAULT_BODY_LIMIT = 64 * KIB
"""Any route not in :data:`BODY_LIMITS`: JSON requests of a few fields."""

BODY_LIMITS: tuple[tuple[str, str, int], ...] = (
    # (method, path regex (full match), limit in bytes) — first match wins.
    ("POST", r"/v1/enrol", 24 * KIB),  # a code and a CSR (≤ 16 KiB of PEM)
    ("POST", r"/v1/cps/[^/]+/unlock", 1 * KIB),  # a PIN
    ("POST", r"/v1/cps/[^/]+/sign", 2 * MIB),  # ≤ 1 MiB of data, base64 in JSON
    ("POST", r"/v1/sign/[a-z]+", 2 * MIB),  # ≤ 1 MiB of data or XML, in JSON
    # The route itself answers image-too-large past 8 MiB; this bounds what it gets to read.
    ("POST", r"/v1/counters/[^/]+/scans/image", 8 * MIB + 64 * KIB),
    # An LGO's DMP request, plain SOAP or MTOM with its documents: the route refuses more than
    # 10 MiB (bad-dmp-request, names.MAX_RELAY_BYTES); the 64 KiB over it let that answer be said.
    ("POST", r"/v1/dmp/relay/[^/]+", 10 * MIB + 64 * KIB),
)
"""Per-route overrides of :data:`DEFAULT_BODY_LIMIT`. New routes with big bodies add a row."""

_COMPILED = tuple((m, re.compile(p), n) for m, p, n in BODY_LIMITS)
_RECENT = 512
"""Durations kept per route for the quantiles in /metrics (the most recent ones)."""
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PROBLEM_BASE = "urn:comptoir:problem:"


def body_limit(method: str, path: str) -> int:
    for m, pattern, limit in _COMPILED:
        if m == method and pattern.fullmatch(path):
            return limit
    return DEFAULT_BODY_LIMIT


async def send_problem(send: Send, scope: Scope, kind: ProblemKind, detail: str,
                       headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """A problem answered below FastAPI (same body as ``hostd.api.problems``)."""
    body = json.dumps({
        "type": _PROBLEM_BASE + kind.slug, "title": kind.title, "status": kind.status,
        "detail": detail, "instance": scope.get("path", ""),
    }).encode()
    await send({"type": "http.response.start", "status": kind.status, "headers": [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        *(headers or []),
    ]})
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class ListenerFigures:
    """One listener's connection discipline at one moment, for ``/metrics``."""

    listener: str
    open_connections: int
    refused_at_accept: int
    """Closed at accept by the per-source or per-listener cap."""
    in_flight: int
    overloaded: int
    """Requests answered 503 ``overloaded``."""
    too_large: int
    """Requests answered 413 ``body-too-large``."""
    timed_out: int
    """Connections dropped by the header/body deadlines (both listeners together)."""
    routes: tuple[RouteTiming, ...] = ()


@dataclass(frozen=True)
class RouteTiming:
    """Time in the daemon per route, from the request's headers to its last byte handed to
    the connection: the client's latency minus this is the network, TLS and HTTP parsing."""

    method: str
    route: str
    count: int
    p50_s: float
    p99_s: float


class _RouteWindow:
    """One route's request count and its most recent durations."""

    def __init__(self) -> None:
        self.count = 0
        self.recent: deque[float] = deque(maxlen=_RECENT)


class _TooLarge(Exception):
    pass


class RequestGuard:
    """Concurrency limit (503 ``overloaded`` beyond ``max_in_flight``) and body limits."""

    def __init__(self, app: App, *, max_in_flight: int) -> None:
        self._app = app
        self._max = max_in_flight
        self.in_flight = 0
        self.refused_overloaded = 0
        self.refused_too_large = 0
        self._durations: dict[tuple[str, str], _RouteWindow] = {}

    def route_timings(self) -> tuple[RouteTiming, ...]:
        out = []
        for (method, route), window in sorted(self._durations.items()):
            ordered = sorted(window.recent)
            if ordered:
                out.append(RouteTiming(method, route, window.count, ordered[len(ordered) // 2],
                                       ordered[min(len(ordered) - 1, len(ordered) * 99 // 100)]))
        return tuple(out)

    def _timed(self, scope: Scope, seconds: float) -> None:
        # Keyed by the route's template (bounded: the app's routes), never by the raw path.
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        key = (scope["method"], route)
        window = self._durations.get(key)
        if window is None:
            window = self._durations[key] = _RouteWindow()
        window.count += 1
        window.recent.append(seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if self.in_flight >= self._max:
            self.refused_overloaded += 1
            await send_problem(send, scope, OVERLOADED,
                               f"more than {self._max} requests in progress on this port",
                               [(b"retry-after", b"1")])
            return
        self.in_flight += 1
        started = time.perf_counter()
        try:
            if scope["method"] in _BODY_METHODS:
                limit = body_limit(scope["method"], scope["path"])
                try:
                    body = await _read_body(scope, receive, limit)
                except _TooLarge:
                    self.refused_too_large += 1
                    await send_problem(send, scope, BODY_TOO_LARGE,
                                       f"this route takes at most {limit} bytes",
                                       [(b"connection", b"close")])
                    return
                receive = _replay(body, receive)
            await self._app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self._timed(scope, time.perf_counter() - started)


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The whole body (≤ ``limit``), or None when the client left while sending it."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and (not value.isdigit() or int(value) > limit):
            raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes | None, receive: Receive) -> Receive:
    """The body already read, then the connection's own messages (disconnect watching)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if body is None:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
