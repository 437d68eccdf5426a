"""uvicorn with TLS: the mTLS API listener and the enrolment listener in one process.

Both listeners share one event loop (one process to harden and supervise). Sockets are bound
here, not by uvicorn, so tests can ask for an ephemeral port on 127.0.0.1 and read it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import resource
import signal
import socket
import ssl
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import uvicorn
import uvloop

from hostd.config import LimitsSettings, ListenerLimits
from hostd.limits import ListenerFigures, RequestGuard
from hostd.tls import TlsHttpToolsProtocol, server_context

log = logging.getLogger(__name__)

_STOP_POLL_S = 0.2
_START_TIMEOUT_S = 20.0
_ACCEPTS_PER_WAKEUP = 64
_EMFILE_PAUSE_S = 0.1

FD_RESERVE = 128
"""Descriptors kept for everything but client connections: SQLite (database, WAL, shm), the
PKCS#11 token, pcscd's socket, logs, the event loop's own, CLI helpers."""


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop rather than asyncio's pure-Python loop: the cross-thread wake-ups of every card
    job (worker thread → loop) and the TLS reads and writes are cheaper in libuv; measured
    ~0.1 ms less per signature in bench/shared_cps.py --overhead-only."""
    uvloop.run(main)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Each stops ``comptoir serve`` the same way: both listeners drain, the box closes, exit 0.
SIGHUP is a closed terminal session; SIGTERM a service manager; SIGINT a Ctrl-C."""


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


def check_fd_budget(limits: LimitsSettings) -> int:
    """Both listeners' connection caps plus :data:`FD_RESERVE` must fit in RLIMIT_NOFILE, so a
    flood on the enrolment port stops at its own cap and the API always finds descriptors.
    Raises the soft limit up to the hard one when needed; a box that still cannot fit them
    refuses to start (one line). Returns the soft limit in force."""
    need = limits.api.max_connections + limits.enrol.max_connections + FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft < need:
            raise StartupError(
                f"file-descriptor limit {soft} is below the connection caps "
                f"({limits.api.max_connections} API + {limits.enrol.max_connections} enrolment "
                f"+ {FD_RESERVE} reserve = {need}): lower [limits] or raise LimitNOFILE"
            )
    return int(soft)


class ConnectionCaps:
    """Open connections of one listener, in total and per source address (counted from the
    accept, so TLS handshakes in progress count too)."""

    def __init__(self, limits: ListenerLimits) -> None:
        self.max_total = limits.max_connections
        self.per_source = limits.per_source
        self.open = 0
        self.refused = 0
        self._by_source: dict[str, int] = {}

    def admit(self, source: str) -> bool:
        held = self._by_source.get(source, 0)
        if self.open >= self.max_total or held >= self.per_source:
            self.refused += 1
            return False
        self.open += 1
        self._by_source[source] = held + 1
        return True

    def release(self, source: str) -> None:
        self.open -= 1
        held = self._by_source.get(source, 1) - 1
        if held <= 0:
            self._by_source.pop(source, None)
        else:
            self._by_source[source] = held


class GuardedListener:
    """The accept loop of one listener, in place of ``loop.create_server``.

    Accepting ourselves is what lets a connection be refused *before* its TLS handshake (by
    source address and listener total, costing one accept and one close) and gives every
    handshake a deadline (``connect_accepted_socket(ssl_handshake_timeout=)``). The HTTP side
    (header, body and keep-alive timeouts) is :class:`hostd.tls.TlsHttpToolsProtocol`'s."""

    def __init__(self, sock: socket.socket, factory: Callable[[], asyncio.Protocol],
                 ctx: ssl.SSLContext, caps: ConnectionCaps, limits: LimitsSettings) -> None:
        self._sock = sock
        self._factory = factory
        self._ctx = ctx
        self.caps = caps
        self._limits = limits
        self._loop = asyncio.get_running_loop()
        self._handshakes: set[asyncio.Task[None]] = set()
        self._closed = False
        self._loop.add_reader(sock.fileno(), self._accept)

    def _accept(self) -> None:
        for _ in range(_ACCEPTS_PER_WAKEUP):
            try:
                conn, addr = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    # Out of descriptors: stop polling the listener for a moment instead of
                    # spinning on a socket that stays readable.
                    log.warning("accept failed (%s); pausing the listener", exc.strerror)
                    self._loop.remove_reader(self._sock.fileno())
                    self._loop.call_later(_EMFILE_PAUSE_S, self._resume)
                return
            source = str(addr[0])
            if not self.caps.admit(source):
                conn.close()
                continue
            conn.setblocking(False)
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = self._loop.create_task(self._connect(conn, source))
            self._handshakes.add(task)
            task.add_done_callback(self._handshakes.discard)

    def _resume(self) -> None:
        if not self._closed:
            self._loop.add_reader(self._sock.fileno(), self._accept)

    async def _connect(self, conn: socket.socket, source: str) -> None:
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.caps.release(source)

        def factory() -> asyncio.Protocol:
            protocol = self._factory()
            if isinstance(protocol, TlsHttpToolsProtocol):
                protocol.configure_limits(self._limits, release)
            return protocol

        try:
            await self._loop.connect_accepted_socket(
                factory, conn, ssl=self._ctx,
                ssl_handshake_timeout=self._limits.handshake_timeout_s,
                # A closing TLS connection waits at most this long for the peer's close_notify.
                ssl_shutdown_timeout=self._limits.handshake_timeout_s,
            )
        except BaseException:
            # Handshake refused or timed out (or the listener closing): the protocol never
            # saw the connection, so its descriptor and its slot are given back here.
            release()
            conn.close()
            raise

    # The two methods uvicorn's Server.shutdown calls on what it keeps in ``servers``.
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self._sock.fileno())
        for task in list(self._handshakes):
            task.cancel()

    async def wait_closed(self) -> None:
        if self._handshakes:
            await asyncio.gather(*self._handshakes, return_exceptions=True)


class GuardedServer(uvicorn.Server):
    """uvicorn's server with :class:`GuardedListener` instead of ``loop.create_server``."""

    def __init__(self, config: uvicorn.Config, ctx: ssl.SSLContext, listener: ListenerLimits,
                 limits: LimitsSettings) -> None:
        super().__init__(config)
        self._ctx = ctx
        self.caps = ConnectionCaps(listener)
        self._limits = limits
        self.guarded: GuardedListener | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The signals belong to :meth:`Listeners.serve`, which stops both servers together and
        # returns. uvicorn's own capture re-raises the signal once its server has stopped, so
        # the process died before ``comptoir serve`` closed the box (token session, reader
        # threads, audit writer), and a Ctrl-C printed the lifespan's CancelledError traceback.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            raise StartupError("the application failed to start")
        if not sockets or len(sockets) != 1:
            raise StartupError("a guarded listener serves exactly one bound socket")
        config = self.config

        def create_protocol() -> asyncio.Protocol:
            protocol: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state,
            )
            return protocol

        self.guarded = GuardedListener(sockets[0], create_protocol, self._ctx, self.caps,
                                       self._limits)
        self.servers = [self.guarded]  # type: ignore[list-item]
        self.started = True


def _server(app: Any, ctx: ssl.SSLContext, *, lifespan: Literal["on", "off"],
            listener: ListenerLimits, limits: LimitsSettings) -> GuardedServer:
    config = uvicorn.Config(
        RequestGuard(app, max_in_flight=listener.max_in_flight),
        http=TlsHttpToolsProtocol,
        ws="none",
        lifespan=lifespan,
        log_level=os.environ.get("COMPTOIR_LOG_LEVEL", "warning"),
        access_log=False,  # request lines are not needed: the audit log records operations
        timeout_keep_alive=int(limits.keep_alive_s) or 1,
        # A client holding a request open must not keep the daemon (and the card) from
        # stopping: after this many seconds the remaining connections are dropped.
        timeout_graceful_shutdown=5,
        server_header=False,
        # No reverse proxy sits in front of the daemon: X-Forwarded-* must not be believed
        # (and the middleware that would parse them costs a pass over every request).
        proxy_headers=False,
    )
    return GuardedServer(config, ctx, listener, limits)


@dataclass
class Listeners:
    api: GuardedServer
    enrol: GuardedServer | None
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

        loop = asyncio.get_running_loop()
        owned = []
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                loop.add_signal_handler(sig, self.request_stop)
                owned.append(sig)
        watcher = asyncio.create_task(stop_together())
        try:
            tasks = [self.api.serve(sockets=[self.api_sock])]
            if self.enrol is not None and self.enrol_sock is not None:
                tasks.append(self.enrol.serve(sockets=[self.enrol_sock]))
            await asyncio.gather(*tasks)
        finally:
            for sig in owned:
                loop.remove_signal_handler(sig)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    def request_stop(self) -> None:
        self._stop.set()

    def figures(self) -> list[ListenerFigures]:
        out = []
        for name, server in (("api", self.api), ("enrol", self.enrol)):
            if server is None:
                continue
            guard = server.config.app
            assert isinstance(guard, RequestGuard)
            out.append(ListenerFigures(
                name, server.caps.open, server.caps.refused, guard.in_flight,
                guard.refused_overloaded, guard.refused_too_large,
                TlsHttpToolsProtocol.timed_out, guard.route_timings()))
        return out


def make_listeners(
    api_app: Any,
    enrol_app: Any | None,
    tls: TlsFiles,
    *,
    host: str,
    api_port: int,
    enrol_port: int,
    limits: LimitsSettings | None = None,
) -> Listeners:
    limits = limits or LimitsSettings()
    check_fd_budget(limits)
    try:
        api_ctx = server_context(tls.cert, tls.key, client_ca=tls.client_ca, require_client=True)
        enrol_ctx = server_context(tls.cert, tls.key, client_ca=None, require_client=False)
    except (OSError, ssl.SSLError) as exc:
        raise StartupError(f"TLS files unusable ({tls.cert}, {tls.key}): {exc}") from exc
    api_sock = bind(host, api_port)
    enrol_sock = bind(host, enrol_port) if enrol_app is not None else None
    listeners = Listeners(
        api=_server(api_app, api_ctx, lifespan="on", listener=limits.api, limits=limits),
        enrol=(_server(enrol_app, enrol_ctx, lifespan="off", listener=limits.enrol,
                       limits=limits) if enrol_app is not None else None),
        api_sock=api_sock,
        enrol_sock=enrol_sock,
    )
    state = getattr(api_app, "state", None)
    if state is not None:  # /metrics reads the listeners' figures through the app's state
        state.listener_figures = listeners.figures
    return listeners


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
