"""uvicorn with TLS: the mTLS API listener and the enrolment listener in one process.

Both listeners share one event loop (one process to harden and supervise). Sockets are bound
here, not by uvicorn, so tests can ask for an ephemeral port on 127.0.0.1 and read it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import uvicorn
import uvloop

from hostd.tls import TlsHttpToolsProtocol, server_context

_STOP_POLL_S = 0.2
_START_TIMEOUT_S = 20.0


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop rather than asyncio's pure-Python loop: the cross-thread wake-ups of every card
    job (worker thread → loop) and the TLS reads and writes are cheaper in libuv; measured
    ~0.1 ms less per signature in bench/shared_cps.py --overhead-only."""
    uvloop.run(main)


class StartupError(Exception):
    """The daemon cannot start; the message is one line for the console."""


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    client_ca: Path


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto says TCP, and without it every response waited ~40 ms for the client's delayed ACK
    # (headers and body are separate writes) — measured 44 ms per request before this.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _server(app: Any, ctx: ssl.SSLContext, *, lifespan: Literal["on", "off"]) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        http=TlsHttpToolsProtocol,
        ws="none",
        lifespan=lifespan,
        log_level=os.environ.get("COMPTOIR_LOG_LEVEL", "warning"),
        access_log=False,  # request lines are not needed: the audit log records operations
        ssl_context_factory=lambda _config, _default: ctx,
        timeout_keep_alive=30,
        # A client holding a request open must not keep the daemon (and the card) from
        # stopping: after this many seconds the remaining connections are dropped.
        timeout_graceful_shutdown=5,
        server_header=False,
        # No reverse proxy sits in front of the daemon: X-Forwarded-* must not be believed
        # (and the middleware that would parse them costs a pass over every request).
        proxy_headers=False,
    )
    return uvicorn.Server(config)


@dataclass
class Listeners:
    api: uvicorn.Server
    enrol: uvicorn.Server | None
    api_sock: socket.socket
    enrol_sock: socket.socket | None
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def api_port(self) -> int:
        return int(self.api_sock.getsockname()[1])

    @property
    def enrol_port(self) -> int | None:
        return int(self.enrol_sock.getsockname()[1]) if self.enrol_sock else None

    async def serve(self) -> None:
        servers = [s for s in (self.api, self.enrol) if s is not None]

        async def stop_together() -> None:
            # A signal reaches only one server's handler: stop the other one with it.
            while not any(s.should_exit for s in servers) and not self._stop.is_set():
                await asyncio.sleep(_STOP_POLL_S)
            for s in servers:
                s.should_exit = True

        watcher = asyncio.create_task(stop_together())
        try:
            tasks = [self.api.serve(sockets=[self.api_sock])]
            if self.enrol is not None and self.enrol_sock is not None:
                tasks.append(self.enrol.serve(sockets=[self.enrol_sock]))
            await asyncio.gather(*tasks)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    def request_stop(self) -> None:
        self._stop.set()


def make_listeners(
    api_app: Any,
    enrol_app: Any | None,
    tls: TlsFiles,
    *,
    host: str,
    api_port: int,
    enrol_port: int,
) -> Listeners:
    try:
        api_ctx = server_context(tls.cert, tls.key, client_ca=tls.client_ca, require_client=True)
        enrol_ctx = server_context(tls.cert, tls.key, client_ca=None, require_client=False)
    except (OSError, ssl.SSLError) as exc:
        raise StartupError(f"TLS files unusable ({tls.cert}, {tls.key}): {exc}") from exc
    api_sock = bind(host, api_port)
    enrol_sock = bind(host, enrol_port) if enrol_app is not None else None
    return Listeners(
        api=_server(api_app, api_ctx, lifespan="on"),
        enrol=_server(enrol_app, enrol_ctx, lifespan="off") if enrol_app is not None else None,
        api_sock=api_sock,
        enrol_sock=enrol_sock,
    )


class ServerThread:
    """Runs :class:`Listeners` on a background thread (tests, benchmark, demo)."""

    def __init__(self, listeners: Listeners, on_exit: Callable[[], None] | None = None) -> None:
        self.listeners = listeners
        self._on_exit = on_exit
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="comptoir-server", daemon=True)

    def _run(self) -> None:
        try:
            run_loop(self.listeners.serve())
        except BaseException as exc:
            self._error = exc
        finally:
            if self._on_exit is not None:
                self._on_exit()

    def start(self) -> ServerThread:
        self._thread.start()
        waited = 0.0
        while not self.listeners.api.started:
            if not self._thread.is_alive():
                raise StartupError(f"server did not start: {self._error!r}")
            if waited > _START_TIMEOUT_S:
                raise StartupError("server did not start in time")
            threading.Event().wait(0.02)
            waited += 0.02
        return self

    def stop(self, timeout_s: float = 20.0) -> None:
        self.listeners.request_stop()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise RuntimeError("the server thread did not stop in time")
