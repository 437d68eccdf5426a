"""PC/SC access over pyscard's raw SCard API: reader listing, connections, error mapping.

PC/SC return codes are mapped to ``drivers.errors`` types here and nowhere else, so callers
see "the card is gone" (:class:`CardRemoved`), "the reader or pcscd is gone"
(:class:`ReaderUnavailable`) or "someone else holds the card" (:class:`ReaderBusy`), never a
raw SCARD_* number.

A :class:`PcscConnection` is exclusive by default: once a CPS is unlocked with its PIN, no
other process on the box may send it a command, and pcsc-lite enforces that for us
(SCARD_SHARE_EXCLUSIVE makes every other SCardConnect fail with SCARD_E_SHARING_VIOLATION).
No PC/SC transactions are used: exclusivity already serialises access, and pcsc-lite's
SCardBeginTransaction waits without a deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from smartcard import scard

from drivers.errors import CardError, CardProtocolError, CardRemoved, ReaderUnavailable

_CARD_GONE: Final = frozenset(
    {
        scard.SCARD_W_REMOVED_CARD,
        scard.SCARD_E_NO_SMARTCARD,
        # Reset by another process: the card's security state is lost just as if pulled.
        scard.SCARD_W_RESET_CARD,
    }
)
_READER_GONE: Final = frozenset(
    {
        scard.SCARD_E_NO_SERVICE,
        scard.SCARD_E_SERVICE_STOPPED,
        scard.SCARD_E_UNKNOWN_READER,
        scard.SCARD_E_READER_UNAVAILABLE,
        scard.SCARD_E_NO_READERS_AVAILABLE,
        scard.SCARD_E_INVALID_HANDLE,
    }
)
# What a card leaving the contacts in the middle of an exchange looks like: the reader
# driver reports a communication failure before pcscd's presence poll notices the card gone.
_EXCHANGE_FAILED: Final = frozenset(
    {
        scard.SCARD_E_NOT_TRANSACTED,
        scard.SCARD_F_COMM_ERROR,
        scard.SCARD_W_UNRESPONSIVE_CARD,
        scard.SCARD_W_UNPOWERED_CARD,
        scard.SCARD_E_COMM_DATA_LOST,
    }
)
_SERVICE_GONE: Final = frozenset({scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED})

# pcscd polls vpcd and other non-interrupt readers every 400 ms; wait a little over two
# polls before deciding that a failed exchange was not a removal.
_REMOVAL_SETTLE_MS: Final = 1000
_PROTOCOLS: Final = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1


class ReaderBusy(CardError):
    """Another process holds the card exclusively (SCARD_E_SHARING_VIOLATION)."""


def pcsc_message(hr: int) -> str:
    return f"{scard.SCardGetErrorMessage(hr)} ({hr & 0xFFFFFFFF:#010x})"


def raise_for(hr: int, what: str) -> None:
    """The one PC/SC return-code mapping. ``what`` says which call, for the message."""
    if hr == scard.SCARD_S_SUCCESS:
        return
    message = f"{what}: {pcsc_message(hr)}"
    if hr in _CARD_GONE:
        raise CardRemoved(message)
    if hr in _READER_GONE:
        raise ReaderUnavailable(message)
    if hr == scard.SCARD_E_SHARING_VIOLATION:
        raise ReaderBusy(message)
    raise CardError(message)


def is_service_gone(hr: int) -> bool:
    return hr in _SERVICE_GONE


def establish_context() -> int:
    hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    raise_for(hr, "SCardEstablishContext")
    return int(context)


def release_context(context: int) -> None:
    scard.SCardReleaseContext(context)


@contextmanager
def pcsc_context() -> Iterator[int]:
    context = establish_context()
    try:
        yield context
    finally:
        release_context(context)


def list_readers_in(context: int) -> list[str]:
    hr, readers = scard.SCardListReaders(context, [])
    if hr == scard.SCARD_E_NO_READERS_AVAILABLE:
        return []
    raise_for(hr, "SCardListReaders")
    return sorted(str(r) for r in readers)


def list_readers() -> list[str]:
    """Names of the readers pcscd knows, sorted. ReaderUnavailable if pcscd is not running."""
    with pcsc_context() as context:
        return list_readers_in(context)


def card_atr(reader: str) -> bytes | None:
    """ATR of the card in ``reader`` now, or None if the slot is empty (no connection made)."""
    with pcsc_context() as context:
        hr, states = scard.SCardGetStatusChange(context, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        raise_for(hr, "SCardGetStatusChange")
        _, event_state, atr = states[0]
        if event_state & scard.SCARD_STATE_UNKNOWN:
            raise ReaderUnavailable(f"no reader named {reader!r}")
        if event_state & scard.SCARD_STATE_PRESENT and not event_state & scard.SCARD_STATE_MUTE:
            return bytes(atr)
        return None


def wait_for_card(reader: str, present: bool, timeout: float) -> bool:
    """Wait (bounded) until a card is present in / absent from ``reader``; True if it happened."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if (card_atr(reader) is not None) == present:
                return True
        except ReaderUnavailable:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


class PcscConnection:
    """One connection to the card in ``reader``; implements ``drivers.apdu.Transport``.

    Owned by one worker thread in the daemon; a lock still keeps ``close()`` from another
    thread from racing an exchange. ``close()`` resets the card by default so that a verified
    PIN never outlives the connection that presented it.
    """

    def __init__(self, reader: str, *, exclusive: bool = True) -> None:
        self.reader = reader
        self.exclusive = exclusive
        self._lock = threading.Lock()
        self._context: int | None = None
        self._card: Any = None
        self._protocol = 0
        self._atr = b""
        self._connect()

    # -- Transport ------------------------------------------------------------------------------

    def transmit(self, apdu: bytes) -> bytes:
        with self._lock:
            card = self._require_card()
            hr, response = scard.SCardTransmit(card, self._protocol, list(apdu))
            if hr != scard.SCARD_S_SUCCESS:
                self._raise_exchange_error(hr, "SCardTransmit")
            if len(response) < 2:
                # Every card answer ends with SW1 SW2. vpcd reports a card pulled mid-command
                # as success with no bytes; a real reader driver can too on a torn exchange.
                if self._card_left():
                    self._disconnect(scard.SCARD_LEAVE_CARD)
                    raise CardRemoved(f"card left {self.reader!r} during the command")
                raise CardProtocolError(f"no status word from the card in {self.reader!r}")
            return bytes(response)

    # -- card control ---------------------------------------------------------------------------

    @property
    def atr(self) -> bytes:
        return self._atr

    @property
    def connected(self) -> bool:
        return self._card is not None

    def reset(self) -> None:
        """Warm-reset the card: it drops its security state (a verified PIN). CPS logout."""
        with self._lock:
            card = self._require_card()
            share = self._share_mode()
            hr, protocol = scard.SCardReconnect(card, share, _PROTOCOLS, scard.SCARD_RESET_CARD)
            if hr != scard.SCARD_S_SUCCESS:
                self._raise_exchange_error(hr, "SCardReconnect")
            self._protocol = int(protocol)
            self._atr = self._read_atr(card)

    def reconnect(self) -> None:
        """Drop the handle (and the context) and connect again: after a card swap or a pcscd
        restart, when the old handle can only answer "removed" or "no service"."""
        with self._lock:
            self._disconnect(scard.SCARD_LEAVE_CARD)
        self._connect()

    def close(self, *, reset: bool = True) -> None:
        with self._lock:
            self._disconnect(scard.SCARD_RESET_CARD if reset else scard.SCARD_LEAVE_CARD)

    def __enter__(self) -> PcscConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------------

    def _share_mode(self) -> int:
        return int(scard.SCARD_SHARE_EXCLUSIVE if self.exclusive else scard.SCARD_SHARE_SHARED)

    def _connect(self) -> None:
        context = establish_context()
        hr, card, protocol = scard.SCardConnect(
            context, self.reader, self._share_mode(), _PROTOCOLS
        )
        if hr != scard.SCARD_S_SUCCESS:
            release_context(context)
            if hr == scard.SCARD_E_UNKNOWN_READER:
                raise ReaderUnavailable(f"no reader named {self.reader!r}")
            raise_for(hr, f"SCardConnect({self.reader})")
        with self._lock:
            self._context, self._card, self._protocol = context, card, int(protocol)
            self._atr = self._read_atr(card)

    def _read_atr(self, card: Any) -> bytes:
        hr, _reader, _state, _protocol, atr = scard.SCardStatus(card)
        raise_for(hr, "SCardStatus")
        return bytes(atr)

    def _require_card(self) -> Any:
        if self._card is None:
            raise CardRemoved(f"no open connection to {self.reader!r} (closed or card removed)")
        return self._card

    def _disconnect(self, disposition: int) -> None:
        card, context = self._card, self._context
        self._card = self._context = None
        if card is not None:
            scard.SCardDisconnect(card, disposition)
        if context is not None:
            release_context(context)

    def _raise_exchange_error(self, hr: int, what: str) -> None:
        """Called with the lock held. A failed exchange ends the connection either way."""
        if hr in _EXCHANGE_FAILED and self._card_left():
            hr = scard.SCARD_W_REMOVED_CARD
        if hr in _CARD_GONE or hr in _READER_GONE:
            self._disconnect(scard.SCARD_LEAVE_CARD)
        raise_for(hr, f"{what}({self.reader})")

    def _card_left(self) -> bool:
        """Did the card leave (or get swapped) just now? Bounded by _REMOVAL_SETTLE_MS."""
        if self._context is None:
            return True
        known = scard.SCARD_STATE_PRESENT
        deadline = time.monotonic() + _REMOVAL_SETTLE_MS / 1000
        while (left_ms := int((deadline - time.monotonic()) * 1000)) > 0:
            hr, states = scard.SCardGetStatusChange(self._context, left_ms, [(self.reader, known)])
            if hr == scard.SCARD_E_TIMEOUT:
                return False
            if hr != scard.SCARD_S_SUCCESS:
                return True
            _, event_state, atr = states[0]
            present = bool(event_state & scard.SCARD_STATE_PRESENT)
            if not present or bytes(atr) != self._atr:
                return True
            known = event_state & ~scard.SCARD_STATE_CHANGED
        return False
