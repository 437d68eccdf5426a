"""What a simulated card is to the reader side (vpcd client, tests, replay)."""

from __future__ import annotations

from typing import Protocol


class SimCard(Protocol):
    """A card application behind a virtual reader.

    ``power_on``/``power_off`` model the contacts: a real card loses its security state (a
    verified PIN) when powered off or reset, and so must a simulated one.
    """

    @property
    def atr(self) -> bytes: ...

    def power_on(self) -> None: ...

    def power_off(self) -> None: ...

    def process(self, apdu: bytes) -> bytes:
        """Answer one command APDU with response data followed by SW1 SW2."""
        ...
