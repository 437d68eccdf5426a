"""TLS for both listeners, and the peer certificate handed to the app.

uvicorn (0.54) does not put TLS details in the ASGI scope, and Starlette only sees the scope.
The ASGI TLS extension (``scope["extensions"]["tls"]``, asgiref spec) is the standard place, so
:class:`TlsHttpToolsProtocol` fills it per connection from the transport's ``ssl_object``: the
handshake has already verified the chain against the box's CA (``CERT_REQUIRED``), so the app
only maps the certificate to an enrolled client and checks it was not revoked since.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

if TYPE_CHECKING:
    from hostd.config import LimitsSettings

_CLOSE_GRACE_S = 0.5
_SENT_POLL_S = 0.01

# TLS 1.2 suites with forward secrecy and AEAD only (TLS 1.3 suites are all modern already).
_TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


def server_context(
    cert: Path, key: Path, *, client_ca: Path | None, require_client: bool
) -> ssl.SSLContext:
    """mTLS when ``require_client``; server-authenticated only for the enrolment listener."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(_TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.load_cert_chain(cert, key)
    if require_client:
        if client_ca is None:
            raise ValueError("a client CA is needed to require client certificates")
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=str(client_ca))
    else:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class _WithTls:
    """Per-connection ASGI wrapper adding the TLS extension to every request's scope."""

    def __init__(self, app: Any, tls: dict[str, Any]) -> None:
        self._app = app
        self._tls = tls

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            extensions = dict(scope.get("extensions") or {})
            extensions["tls"] = self._tls
            scope = {**scope, "extensions": extensions}
        await self._app(scope, receive, send)


def _tls_extension(transport: asyncio.Transport) -> dict[str, Any] | None:
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return {
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_der": der,
        "tls_version": ssl_object.version(),
        "cipher_suite": (ssl_object.cipher() or ("",))[0],
    }


class _CorkedTransport:
    """The connection's transport, with the writes of one event-loop step sent together.

    uvicorn writes a response's head and its body separately, and over TLS each write is its
    own record, encryption and ``send`` (two segments for the client to wait on). Both writes
    happen in the same step of the request's task, so deferring them to the end of the step
    (``call_soon``) sends one record without delaying anything. Everything but ``write`` and
    ``close`` (which flushes first) goes straight to the real transport.

    Closing while the request's body is still coming (``body_pending``: a 413, or any answer
    sent before the body was read) stops reading at once and ends the connection right after
    the answer (:meth:`_drop_after_answer`) instead of a TLS close.
    """

    def __init__(self, transport: asyncio.Transport,
                 body_pending: Callable[[], bool] = lambda: False) -> None:
        self._transport = transport
        self._body_pending = body_pending
        self._dropping = False
        self._pending: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()
        if self._dropping:
            return
        if self._body_pending():
            self._dropping = True
            with contextlib.suppress(Exception):
                self._transport.pause_reading()
            self._drop_after_answer(self._loop.time() + _CLOSE_GRACE_S)
            return
        self._transport.close()
        # A TLS close waits for the peer's close_notify and keeps reading (and decrypting) what
        # the peer still sends meanwhile. Half a second is plenty for a real peer.
        self._loop.call_later(_CLOSE_GRACE_S, self._abort_if_open)

    def _drop_after_answer(self, deadline: float) -> None:
        """The peer is still sending a body nobody will read (a 413): a TLS close would read
        and decrypt it until the peer's close_notify (a hostile client pushing 50 MB after its
        413 cost the whole shutdown timeout of CPU). Instead reading stopped at ``close``
        (what arrives waits in the kernel's buffers, never decrypted); once the answer is out
        of our write buffer the socket is shut for writing (the kernel sends the answer, then
        FIN: the peer reads its 413 and the end of the connection), and the connection is
        aborted at the deadline. Aborting at once would reset it with the peer's unread bytes
        pending, and a reset can make a client drop the answer it has not read yet."""
        now = self._loop.time()
        if self._transport.get_write_buffer_size() and now < deadline:
            self._loop.call_later(_SENT_POLL_S, self._drop_after_answer, deadline)
            return
        _shut_for_writing(self._transport)
        self._loop.call_later(max(0.0, deadline - now), self._abort_if_open)

    def is_closing(self) -> bool:
        return self._dropping or self._transport.is_closing()

    def resume_reading(self) -> None:
        if not self._dropping:  # uvicorn resumes reading after each response
            self._transport.resume_reading()

    def _abort_if_open(self) -> None:
        with contextlib.suppress(Exception):
            self._transport.abort()

    def detach(self) -> None:
        """The connection is gone: let go of the TLS transport. uvicorn's protocol and its
        request cycle refer to each other, so they (and this wrapper) wait for the cyclic GC;
        through this reference they kept the TLS layer too — its read buffer and the peer's
        undecrypted bytes, up to ~0.5 MB a connection — and a burst of hostile connections
        left tens of MB until a full collection (measured: +25 MB after 130 refused 50 MB
        bodies, back only after ``gc.collect()``)."""
        self._flush()
        self._pending.clear()
        self._transport = _GONE

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _GoneTransport:
    """Stands for a transport after its connection was lost: closing, nothing to write."""

    def is_closing(self) -> bool:
        return True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None  # write, close, abort, pause/resume: no-ops


_GONE: Any = _GoneTransport()


def _shut_for_writing(transport: asyncio.BaseTransport) -> None:
    """``shutdown(SHUT_WR)`` on the connection's socket: what is queued goes out, then FIN.
    (On a duplicate descriptor: shutdown acts on the socket, and the transport's own socket
    object is the event loop's.)"""
    sock = transport.get_extra_info("socket")
    with contextlib.suppress(AttributeError, OSError, ValueError):
        dup = socket.socket(fileno=os.dup(sock.fileno()))
        try:
            dup.shutdown(socket.SHUT_WR)
        finally:
            dup.close()


class TlsHttpToolsProtocol(HttpToolsProtocol):
    """httptools rather than h11: it parses a request in microseconds where pure-Python h11
    took a visible share of the per-request overhead that bench/shared_cps.py measures.

    Adds the timeouts uvicorn lacks (it only times the keep-alive between requests): a request's
    headers must arrive within ``header_timeout_s`` of the connection (so a peer that completes
    the handshake and says nothing is dropped too) or of the request's first byte, and its body
    within ``body_timeout_s`` of the headers. A slowloris client is closed at the deadline
    whatever its byte rate. ``on_close`` gives the listener's connection slot back."""

    header_timeout_s = 10.0
    body_timeout_s = 30.0
    _deadline: asyncio.TimerHandle | None = None
    _on_close: Callable[[], None] | None = None
    _body_pending = False
    """The current request's headers are in and its body is not (yet) complete."""
    timed_out = 0
    """Connections dropped by the header/body deadlines (all listeners; /metrics)."""

    def configure_limits(self, limits: LimitsSettings, on_close: Callable[[], None]) -> None:
        self.header_timeout_s = limits.header_timeout_s
        self.body_timeout_s = limits.body_timeout_s
        self._on_close = on_close

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        corked: Any = _CorkedTransport(transport, lambda: self._body_pending)
        self._corked = corked
        super().connection_made(corked)
        tls = _tls_extension(transport)
        if tls is not None:
            self.app = _WithTls(self.app, tls)
        self._arm(self.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        try:
            super().connection_lost(exc)
        finally:
            corked = getattr(self, "_corked", None)
            if corked is not None:
                corked.detach()
            if self._on_close is not None:
                on_close, self._on_close = self._on_close, None
                on_close()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            type(self).timed_out += 1
            # abort, not close: a TLS close waits for the peer's close_notify (up to the
            # shutdown timeout) and a slow peer would keep its descriptor all that time.
            self.transport.abort()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm(self.header_timeout_s)

    def on_headers_complete(self) -> None:
        self._arm(self.body_timeout_s)
        self._body_pending = True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._body_pending = False
        super().on_message_complete()


def peer_certificate_der(scope: Mapping[str, Any]) -> bytes | None:
    tls = (scope.get("extensions") or {}).get("tls") or {}
    der = tls.get("client_cert_der")
    return bytes(der) if der else None
