"""TLS for both listeners, and the peer certificate handed to the app.

uvicorn (0.54) does not put TLS details in the ASGI scope, and Starlette only sees the scope.
The ASGI TLS extension (``scope["extensions"]["tls"]``, asgiref spec) is the standard place, so
:class:`TlsHttpToolsProtocol` fills it per connection from the transport's ``ssl_object``: the
handshake has already verified the chain against the box's CA (``CERT_REQUIRED``), so the app
only maps the certificate to an enrolled client and checks it was not revoked since.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

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
    """

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
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
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class TlsHttpToolsProtocol(HttpToolsProtocol):
    """httptools rather than h11: it parses a request in microseconds where pure-Python h11
    took a visible share of the per-request overhead that bench/shared_cps.py measures."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        corked: Any = _CorkedTransport(transport)
        super().connection_made(corked)
        tls = _tls_extension(transport)
        if tls is not None:
            self.app = _WithTls(self.app, tls)


def peer_certificate_der(scope: Mapping[str, Any]) -> bytes | None:
    tls = (scope.get("extensions") or {}).get("tls") or {}
    der = tls.get("client_cert_der")
    return bytes(der) if der else None
