"""A private pcscd with vpcd virtual readers, for tests, benchmarks, the demo and training.

The real stack is kept whole: clients go through libpcsclite to a real pcscd, which drives
``libifdvpcd.so``, which talks to :class:`~drivers.sim.vpcd.VirtualSlot` cards. Only the
configuration and the socket are ours, so a private pcscd never disturbs the box's own.

Facts this rests on (checked on Debian 12, pcsc-lite 1.9.9, vsmartcard-vpcd 0.9):

* pcscd always binds ``/run/pcscd/pcscd.comm`` unless it is socket-activated; we do the
  activation ourselves (``LISTEN_FDS``/``LISTEN_PID``, socket on fd 3) and clients find it via
  ``PCSCLITE_CSOCK_NAME``. libpcsclite reads that variable once per process, at the first
  context: set it (see :meth:`PrivatePcscd.client_env`) before any PC/SC call, and keep one
  socket path per process. pcscd still writes (and on exit removes) ``/run/pcscd/pcscd.pid``.
* vpcd keeps its connection table in globals indexed by slot number, so two reader entries
  loading the same ``libifdvpcd.so`` overwrite each other's slot 0 and 1. Each reader entry
  here loads its own copy of the library (pcscd and the dynamic loader share a library only
  when path or inode match).
* Each entry gives two slots: PC/SC names ``"<FRIENDLYNAME> 00 00"`` and ``"... 00 01"`` on
  TCP ports CHANNELID and CHANNELID+1. vpcd listens on all interfaces (its code, not ours):
  never install it on a deployed box.
* pcscd reads the serial-reader configuration only at start (SIGUSR1 rescans USB only), so a
  reader being plugged or unplugged is modelled by restarting pcscd with the changed set.
  Clients see pcscd go away and come back, with one reader more or less.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from drivers.sim.vpcd import VirtualSlot

VPCD_LIBRARY = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
PCSCD = "pcscd"
SLOTS_PER_READER = 2
READER_NAME_PREFIX = "Comptoir sim"
_PORT_RANGE = (40000, 48998)
_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 5.0
# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
_MAX_SOCKET_PATH = 107
_RUN_MARKER = b"== comptoir: pcscd starting"

# pcscd runs under a small bash wrapper that
# - hands it the listening socket the systemd way: fd 3, LISTEN_FDS=1, and LISTEN_PID equal to
#   pcscd's own pid (a subshell's $BASHPID, kept by exec). bash, not sh: dash only redirects
#   single-digit descriptors;
# - stops it when its owner process dies, however it dies: a test run killed by a timeout
#   must not leave a pcscd with vpcd ports open behind it. The check runs every 0.5 s.
_WRAPPER = r"""
owner=$1 fd=$2 pidfile=$3; shift 3
( exec 3<&"$fd"; [ "$fd" != 3 ] && eval "exec $fd<&-"
  LISTEN_PID=$BASHPID LISTEN_FDS=1 exec "$@" ) &
child=$!
eval "exec $fd<&-"
echo "$child" > "$pidfile"
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
while kill -0 "$owner" 2>/dev/null && kill -0 "$child" 2>/dev/null; do
  sleep 0.5 & wait $!
done
kill -TERM "$child" 2>/dev/null
wait "$child"
"""


class PcscdError(RuntimeError):
    """The private pcscd could not be started or configured."""


@dataclass(frozen=True)
class SimReader:
    """One vpcd reader entry: two PC/SC slots on two consecutive TCP ports."""

    index: int
    channel: int

    @property
    def friendly_name(self) -> str:
        return f"{READER_NAME_PREFIX} {self.index}"

    def slot_names(self) -> tuple[str, ...]:
        return tuple(f"{self.friendly_name} 00 {s:02d}" for s in range(SLOTS_PER_READER))


def _ports_free(first: int, count: int) -> bool:
    for port in range(first, first + count):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                # vpcd binds INADDR_ANY, so probe the same address it will need.
                probe.bind(("0.0.0.0", port))  # noqa: S104 - a probe, closed at once
            except OSError:
                return False
    return True


def pick_channels(readers: int, rng: random.Random | None = None) -> list[int]:
    """Free, even-aligned port pairs for ``readers`` entries (bounded number of tries)."""
    rng = rng or random.Random()  # noqa: S311 - spreads port picks, no secret
    span = readers * SLOTS_PER_READER
    for _ in range(200):
        first = rng.randrange(_PORT_RANGE[0], _PORT_RANGE[1] - span) & ~1
        if _ports_free(first, span):
            return [first + SLOTS_PER_READER * i for i in range(readers)]
    raise PcscdError(f"no {span} consecutive free TCP ports in {_PORT_RANGE}")


class PrivatePcscd:
    """A pcscd of our own under ``directory`` with up to ``readers`` vpcd readers.

    ``slot(i)`` is the card side of PC/SC reader ``reader_names()[i]`` (i = 2 * reader +
    slot). Slots survive restarts: a card left in a slot is seen again by the new pcscd.
    """

    def __init__(
        self,
        directory: Path,
        readers: int = 2,
        *,
        channels: list[int] | None = None,
        debug: bool = False,
    ) -> None:
        if not 1 <= readers <= 8:
            raise ValueError("between 1 and 8 readers")
        self.directory = Path(directory).resolve()
        self.socket_path = self.directory / "pcscd.comm"
        if len(str(self.socket_path).encode()) > _MAX_SOCKET_PATH:
            raise PcscdError(f"directory path too long for a unix socket: {self.directory}")
        if not VPCD_LIBRARY.exists():
            raise PcscdError(f"{VPCD_LIBRARY} missing: apt-get install vsmartcard-vpcd")
        if shutil.which(PCSCD) is None:
            raise PcscdError("pcscd missing: apt-get install pcscd")
        self.log_path = self.directory / "pcscd.log"
        self._child_pid_path = self.directory / "pcscd.child.pid"
        self._conf_dir = self.directory / "reader.conf.d"
        self._drivers = self.directory / "drivers"
        self._debug = debug
        chosen = channels or pick_channels(readers)
        if len(chosen) != readers:
            raise ValueError("one channel per reader")
        self.readers = [SimReader(i, ch) for i, ch in enumerate(chosen)]
        self._plugged = [True] * readers
        self._slots = [
            VirtualSlot(r.channel + s, name=name)
            for r in self.readers
            for s, name in enumerate(r.slot_names())
        ]
        self._proc: subprocess.Popen[bytes] | None = None

    # -- clients ---------------------------------------------------------------------------------

    def client_env(self) -> dict[str, str]:
        """What a PC/SC client process needs in its environment to reach this pcscd."""
        return {"PCSCLITE_CSOCK_NAME": str(self.socket_path)}

    def use_in_this_process(self) -> None:
        """Point this process's libpcsclite here. Must precede the process's first context."""
        current = os.environ.get("PCSCLITE_CSOCK_NAME")
        if current not in (None, str(self.socket_path)):
            raise PcscdError(
                f"this process already uses the pcscd at {current}; libpcsclite reads "
                "PCSCLITE_CSOCK_NAME once per process, so use one private pcscd per process"
            )
        os.environ["PCSCLITE_CSOCK_NAME"] = str(self.socket_path)

    def reader_names(self) -> list[str]:
        """PC/SC names of every slot of every configured reader, plugged or not, in slot order."""
        return [name for r in self.readers for name in r.slot_names()]

    def plugged_reader_names(self) -> list[str]:
        return [n for r in self.readers if self._plugged[r.index] for n in r.slot_names()]

    def slot(self, i: int) -> VirtualSlot:
        return self._slots[i]

    @property
    def slots(self) -> tuple[VirtualSlot, ...]:
        return tuple(self._slots)

    # -- pcscd process ---------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """pcscd's own pid while it runs (the wrapper's child)."""
        if self._proc is None or self._proc.poll() is not None:
            return None
        return self._read_child_pid()

    def _read_child_pid(self) -> int | None:
        try:
            return int(self._child_pid_path.read_text())
        except (FileNotFoundError, ValueError):
            return None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def start(self) -> None:
        if self.running:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_config()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.socket_path))
            listener.listen(64)
            fd = listener.fileno()
            args = [PCSCD, "--foreground", "--debug" if self._debug else "--info"]
            args += ["--config", str(self._conf_dir)]
            with contextlib.suppress(FileNotFoundError):
                self._child_pid_path.unlink()
            with self.log_path.open("ab") as logf:
                logf.write(_RUN_MARKER + b"\n")
                logf.flush()
                self._proc = subprocess.Popen(
                    [
                        *("bash", "-c", _WRAPPER, "pcscd-wrapper", str(os.getpid()), str(fd)),
                        *(str(self._child_pid_path), *args),
                    ],
                    pass_fds=[fd],
                    stdin=subprocess.DEVNULL,
                    stdout=logf,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        finally:
            listener.close()
        self._wait_ready()

    def stop(self) -> None:
        """Stop pcscd (SIGTERM, then SIGKILL after a bounded wait). Cards stay in their slots."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            child = self._read_child_pid()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                if child is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child, signal.SIGKILL)
                proc.kill()
                proc.wait(_STOP_TIMEOUT_S)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    def kill(self) -> None:
        """Kill pcscd without letting it clean up: a crash, as the watcher must survive it."""
        pid = self.pid
        proc, self._proc = self._proc, None
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if proc is not None:
            try:
                proc.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(_STOP_TIMEOUT_S)

    def restart(self) -> None:
        self.stop()
        self.start()

    def set_plugged(self, reader: int, plugged: bool) -> None:
        """Plug or unplug one reader: pcscd restarts with the new set (see module docstring)."""
        self._plugged[reader] = plugged
        if self.running:
            self.restart()

    def is_plugged(self, reader: int) -> bool:
        return self._plugged[reader]

    def plug_all(self) -> None:
        """Plug every reader back (one restart, and only if one was unplugged)."""
        if all(self._plugged):
            return
        self._plugged = [True] * len(self.readers)
        if self.running:
            self.restart()

    def close(self) -> None:
        """Stop pcscd and every slot thread."""
        self.stop()
        for slot in self._slots:
            slot.close()

    def __enter__(self) -> PrivatePcscd:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- internals -------------------------------------------------------------------------------

    def _write_config(self) -> None:
        self._conf_dir.mkdir(exist_ok=True)
        self._drivers.mkdir(exist_ok=True)
        for old in self._conf_dir.iterdir():
            old.unlink()
        for reader in self.readers:
            if not self._plugged[reader.index]:
                continue
            library = self._drivers / f"libifdvpcd-{reader.index}.so"
            if not library.exists():
                shutil.copyfile(VPCD_LIBRARY, library)
            (self._conf_dir / f"comptoir-sim-{reader.index}").write_text(
                f'FRIENDLYNAME "{reader.friendly_name}"\n'
                f"DEVICENAME /dev/null:{reader.channel:#06x}\n"
                f"LIBPATH {library}\n"
                f"CHANNELID {reader.channel:#06x}\n"
            )

    def _wait_ready(self) -> None:
        # "daemon ready" is logged after every configured reader has been initialised.
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise PcscdError(f"pcscd exited at start; log:\n{self.log_text()[-2000:]}")
            text = self.log_text().rsplit(_RUN_MARKER.decode(), 1)[-1]
            if "daemon ready" in text and self._read_child_pid() is not None:
                failed = [line for line in text.splitlines() if "Could not initialize" in line]
                if failed:
                    raise PcscdError("vpcd could not open its ports:\n" + "\n".join(failed))
                return
            time.sleep(0.02)
        raise PcscdError(f"pcscd not ready after {_START_TIMEOUT_S}s")
