"""A small HTTPS server for the téléservice doubles: TLS 1.2, client certificate required and
chained to the TEST IGC-Santé root, loopback only.

Each request reaches the double's ``handle`` with the client's certificate (leaf) and whether
the TLS session was resumed (so tests can tell full handshakes, where the client's token
signs, from resumed ones).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509

MAX_BODY = 12 * 1024 * 1024  # the DMP relay forwards up to 10 MiB (MTOM documents)


@dataclass(frozen=True)
class DoubleRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_cert: x509.Certificate | None
    session_reused: bool


@dataclass(frozen=True)
class DoubleResponse:
    status: int
    content_type: str
    body: bytes


Handler = Callable[[DoubleRequest], DoubleResponse]


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without TCP_NODELAY, Nagle + the client's delayed
    # ACK add ~40 ms to every answer on loopback.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(length)
        sock: ssl.SSLSocket = self.request
        der = sock.getpeercert(binary_form=True)
        request = DoubleRequest(
            "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body,
            x509.load_der_x509_certificate(der) if der else None, bool(sock.session_reused),
        )
        self.server.record(request)
        answer = self.server.handle(request)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handle: Handler, context: ssl.SSLContext, port: int) -> None:
        super().__init__(("127.0.0.1", port), _RequestHandler)
        self.handle = handle
        self.context = context
        self.requests: list[DoubleRequest] = []
        self._lock = threading.Lock()

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = super().get_request()
        return self.context.wrap_socket(sock, server_side=True), addr

    def record(self, request: DoubleRequest) -> None:
        with self._lock:
            self.requests.append(request)
            del self.requests[:-1000]


class HttpsDouble:
    """Start with :meth:`start`, stop with :meth:`stop`; ``port`` is ephemeral on 127.0.0.1."""

    def __init__(
        self, handle: Handler, cert_chain: Path, key: Path, client_roots: Path | None,
        port: int = 0,
    ) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert_chain, key)
        if client_roots is None:  # a service authenticated by its messages (ApCV)
            ctx.verify_mode = ssl.CERT_NONE
        else:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(client_roots)
        self._server = _Server(handle, ctx, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def requests(self) -> list[DoubleRequest]:
        return list(self._server.requests)

    def start(self) -> HttpsDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
