"""The counter terminals as the daemon uses them: which counter each one serves, the PIN typed
on its keypad, the screens it shows, and its state for the status page.

The link and the ports are ``drivers.terminal``'s; this service adds the configuration's
bindings (a terminal serves one counter, and only that counter's enrolled client may start an
unlock on it) and turns the PIN entry's outcomes into domain errors the API maps once. The PIN
leaves this module only as the ``bytearray`` the CPS service presents to the card and wipes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from drivers.terminal import PinOutcome, TerminalEvent, TerminalKeyStore, TerminalManager
from hostd.config import TerminalSettings
from hostd.errors import PinEntryCancelled, PinEntryTimedOut, TerminalAbsent, TerminalNotBound


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
                 manager: TerminalManager | None) -> None:
        self._settings = settings
        self._keys = keys
        self._manager = manager

    def on_event(self, event: TerminalEvent) -> None:
        """A terminal came up: greet the person at that counter with its idle screen."""
        if event.kind == "up" and self._manager is not None:
            binding = self._settings.bind.get(event.serial)
            if binding is not None:
                self._manager.show(event.serial, "idle", counter=binding.counter)

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
