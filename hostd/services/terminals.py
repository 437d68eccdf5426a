"""The counter terminals as the daemon uses them: which counter each one serves, the PIN typed
on its keypad, the screens it shows, and its state for the status page.

The link and the ports are ``drivers.terminal``'s; this service adds the configuration's
bindings (a terminal serves one counter, and only that counter's enrolled client may start an
unlock on it) and turns the PIN entry's outcomes into domain errors the API maps once. The PIN
leaves this module only as the ``bytearray`` the CPS service presents to the card and wipes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drivers.terminal import PinOutcome, TerminalEvent, TerminalKeyStore, TerminalManager
from hostd.clock import rfc3339, utc_now
from hostd.config import TerminalSettings
from hostd.errors import PinEntryCancelled, PinEntryTimedOut, TerminalAbsent, TerminalNotBound
from hostd.events import EventLog

if TYPE_CHECKING:
    from hostd.scanning.hub import ScanHub

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TerminalView:
    """One terminal on the status page and in /v1/status."""

    serial: str
    counter: str
    client: str
    paired: bool
    connected: bool
    firmware: str


class TerminalService:
    def __init__(self, settings: TerminalSettings, keys: TerminalKeyStore,
                 manager: TerminalManager | None, events: EventLog | None = None) -> None:
        self._settings = settings
        self._keys = keys
        self._manager = manager
        self._events = events
        self._scans: ScanHub | None = None

    def attach_scans(self, scans: ScanHub) -> None:
        """Where the terminals' scanner modules read to: the same hub as the serial scanners
        (set by the app, which owns the hub; the terminals are opened before it)."""
        self._scans = scans

    def on_event(self, event: TerminalEvent) -> None:
        """Up/down: on the reader event stream (and the bound counter's scan events, like a
        scanner's); up also greets the person with the idle screen. Scan: to the counter's
        scans."""
        binding = self._settings.bind.get(event.serial)
        counter = binding.counter if binding is not None else None
        if event.kind in ("up", "down"):
            state = "connected" if event.kind == "up" else "disconnected"
            self._publish(f"terminal-{state}", event.serial, counter=counter)
            if counter is not None and self._scans is not None:
                self._scans.device(counter, _source(event.serial), state)
        if event.kind == "up" and self._manager is not None and counter is not None:
            self._manager.show(event.serial, "idle", counter=counter)
        elif event.kind == "scan":
            self._scan(event, counter)

    def _scan(self, event: TerminalEvent, counter: str | None) -> None:
        if counter is None:
            # Nobody's counter: not dropped silently, but its text (a patient's ordonnance)
            # goes to no one; the technician sees which terminal needs a binding.
            log.warning("scan from terminal %s, which is bound to no counter", event.serial)
            self._publish("terminal-scan-unbound", event.serial, bytes=len(event.raw))
            return
        if self._scans is None:  # only before the app exists (the CLI has no scan hub)
            log.warning("scan from terminal %s before scanning was set up", event.serial)
            return
        try:
            text = event.raw.decode()
        except UnicodeDecodeError:
            self._scans.unreadable(counter, _source(event.serial), "not-utf8", event.raw)
            return
        self._scans.scan(counter, _source(event.serial), text)

    def _publish(self, name: str, serial: str, **extra: object) -> None:
        if self._events is not None:
            self._events.publish(name, {"event": name, "terminal": serial,
                                        "at": rfc3339(utc_now()), **extra})

    def check_bound(self, serial: str, client: str) -> None:
        binding = self._settings.bind.get(serial)
        if binding is None or binding.client != client:
            raise TerminalNotBound(f"terminal {serial} is not this counter's terminal")

    def show(self, serial: str, screen: str, **data: object) -> None:
        """Best effort: a screen that cannot be shown (terminal gone) is not an error."""
        if self._manager is not None and self._manager.find(serial) is not None:
            self._manager.show(serial, screen, **data)

    async def read_pin(self, serial: str, tries_left: int) -> bytearray:
        """Prompt on the terminal and wait for the person; the caller wipes the digits."""
        if self._manager is None:
            raise TerminalAbsent(f"terminal {serial} is not connected")
        manager = self._manager
        reply = await asyncio.to_thread(
            manager.request_pin, serial, self._settings.pin_timeout_s, tries_left
        )
        if reply.outcome == PinOutcome.ENTERED and reply.digits is not None:
            return reply.digits
        reply.wipe()
        if reply.outcome == PinOutcome.CANCELLED:
            raise PinEntryCancelled("the PIN entry was cancelled on the terminal")
        if reply.outcome == PinOutcome.TIMEOUT:
            raise PinEntryTimedOut("nobody typed the PIN in time")
        raise TerminalAbsent(f"terminal {serial} is not connected")

    def views(self) -> tuple[TerminalView, ...]:
        connected = {s.serial: s for s in self._manager.status()} if self._manager else {}
        paired = self._keys.entries()
        out = []
        for serial in sorted(set(self._settings.bind) | set(paired) | set(connected)):
            binding = self._settings.bind.get(serial)
            status = connected.get(serial)
            out.append(TerminalView(
                serial=serial,
                counter=binding.counter if binding else "",
                client=binding.client if binding else "",
                paired=serial in paired,
                connected=bool(status and status.connected),
                firmware=status.firmware if status else "",
            ))
        return tuple(out)


def _source(serial: str) -> str:
    """A terminal's scanner module as a scan source (the serial scanners use their name)."""
    return f"terminal-{serial}"
