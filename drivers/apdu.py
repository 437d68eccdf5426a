"""ISO/IEC 7816-4 command and response APDUs, status words as exceptions, and the one channel
that every card application uses to talk to a card.

The codec is shared by both sides: drivers encode :class:`Command` and decode :class:`Response`;
simulators decode with :meth:`Command.parse` and encode with :meth:`Response.to_bytes`. Status
words that mean something to a person are raised as the ``drivers.errors`` types (WrongPin,
PinBlocked, SecurityNotSatisfied) here and nowhere else, via :func:`status_error`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from drivers.errors import (
    CardError,
    CardProtocolError,
    PinBlocked,
    SecurityNotSatisfied,
    WrongPin,
)

SW_OK = 0x9000

# Bounds on the 61xx / 6Cxx loops: a card (or a broken simulator) that keeps answering 61xx
# must not keep the caller busy forever. 256 rounds of 256 bytes is the extended-length limit.
MAX_GET_RESPONSE_ROUNDS = 256


class ApduFormatError(ValueError):
    """Bytes that are not a well-formed command or response APDU."""


class Transport(Protocol):
    """Anything that carries one command APDU to a card and returns data + SW1 SW2."""

    def transmit(self, apdu: bytes) -> bytes: ...


class CardConnection(Transport, Protocol):
    """A transport that owns a connection (``drivers.pcsc.PcscConnection``): the daemon's card
    worker closes it when the card's session ends."""

    def close(self) -> None: ...


def _check_byte(name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise ApduFormatError(f"{name} must be a byte (0..255), got {value}")


@dataclass(frozen=True)
class Command:
    """One command APDU. ``le=None`` means no response data expected; ``le=256`` (short) or
    ``le=65536`` (extended) means "as much as the card has" (encoded as 00 / 0000)."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            _check_byte(name, getattr(self, name))
        if not isinstance(self.data, bytes):
            raise ApduFormatError("data must be bytes")
        if len(self.data) > 0xFFFF:
            raise ApduFormatError(f"data too long for one APDU: {len(self.data)} > 65535")
        if self.le is not None and not 1 <= self.le <= 0x10000:
            raise ApduFormatError(f"Le must be 1..65536, got {self.le}")

    @property
    def extended(self) -> bool:
        """Extended length is needed when Lc > 255 or Le > 256 (ISO 7816-4 §5.1)."""
        return len(self.data) > 0xFF or (self.le is not None and self.le > 0x100)

    def to_bytes(self) -> bytes:
        header = bytes((self.cla, self.ins, self.p1, self.p2))
        if not self.extended:
            body = b""
            if self.data:
                body += bytes((len(self.data),)) + self.data
            if self.le is not None:
                body += bytes((self.le & 0xFF,))  # 256 -> 00
            return header + body
        body = b"\x00"
        if self.data:
            body += len(self.data).to_bytes(2, "big") + self.data
        if self.le is not None:
            body += (self.le & 0xFFFF).to_bytes(2, "big")  # 65536 -> 0000
        return header + body

    @classmethod
    def parse(cls, raw: bytes) -> Command:
        """Decode the four ISO cases, short or extended; anything else is ApduFormatError."""
        raw = bytes(raw)
        n = len(raw)
        if n < 4:
            raise ApduFormatError(f"command APDU too short: {n} bytes")
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        if n == 4:
            return cls(cla, ins, p1, p2)
        if n == 5:
            return cls(cla, ins, p1, p2, le=raw[4] or 0x100)
        if raw[4] != 0:
            lc = raw[4]
            if n == 5 + lc:
                return cls(cla, ins, p1, p2, raw[5:])
            if n == 6 + lc:
                return cls(cla, ins, p1, p2, raw[5:-1], le=raw[-1] or 0x100)
            raise ApduFormatError(f"short APDU: Lc={lc} does not match length {n}")
        # Extended length: a 00 byte then two-byte fields.
        if n == 7:
            return cls(cla, ins, p1, p2, le=int.from_bytes(raw[5:7], "big") or 0x10000)
        if n < 7:
            raise ApduFormatError(f"extended APDU truncated: {n} bytes")
        lc = int.from_bytes(raw[5:7], "big")
        if lc == 0:
            raise ApduFormatError("extended APDU with Lc=0 and a body")
        if n == 7 + lc:
            return cls(cla, ins, p1, p2, raw[7:])
        if n == 9 + lc:
            le = int.from_bytes(raw[-2:], "big") or 0x10000
            return cls(cla, ins, p1, p2, raw[7:-2], le=le)
        raise ApduFormatError(f"extended APDU: Lc={lc} does not match length {n}")

    def __repr__(self) -> str:
        # Never print data: a VERIFY or RESET RETRY COUNTER carries a PIN or PUK.
        le = "" if self.le is None else f" le={self.le}"
        return (
            f"Command({self.cla:02X} {self.ins:02X} {self.p1:02X} {self.p2:02X}"
            f" lc={len(self.data)}{le})"
        )


@dataclass(frozen=True)
class Response:
    """Response data and the status word SW1SW2 as one int (0x9000)."""

    data: bytes
    sw: int

    def __post_init__(self) -> None:
        if not 0 <= self.sw <= 0xFFFF:
            raise ApduFormatError(f"status word must be 16 bits, got {self.sw}")

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK

    @classmethod
    def from_bytes(cls, raw: bytes) -> Response:
        raw = bytes(raw)
        if len(raw) < 2:
            raise ApduFormatError(f"response APDU too short: {len(raw)} bytes")
        return cls(raw[:-2], int.from_bytes(raw[-2:], "big"))

    def to_bytes(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    def raise_for_status(self) -> None:
        if not self.ok:
            raise status_error(self.sw)


# ---------------------------------------------------------------------------------------------
# Status words as exceptions. The only mapping from SW1SW2 to a typed error lives below.


class StatusWordError(CardError):
    """The card answered a status word other than 9000."""

    meaning: ClassVar[str] = "card error"

    def __init__(self, sw: int) -> None:
        Exception.__init__(self, f"{self.meaning} (SW {sw:04X})")
        self.sw = sw


class WarningEndOfFile(StatusWordError):
    meaning = "end of file reached before Le bytes"  # 6282


class VerificationFailed(StatusWordError, WrongPin):
    meaning = "verification failed"  # 63Cx

    def __init__(self, sw: int) -> None:
        Exception.__init__(self, f"wrong PIN, {sw & 0x0F} tries left (SW {sw:04X})")
        self.sw = sw
        self.tries_left = sw & 0x0F


class MemoryFailure(StatusWordError):
    meaning = "memory failure"  # 6581


class WrongLength(StatusWordError):
    meaning = "wrong length"  # 6700


class SecurityStatusNotSatisfied(StatusWordError, SecurityNotSatisfied):
    meaning = "security status not satisfied"  # 6982


class AuthenticationBlocked(StatusWordError, PinBlocked):
    meaning = "authentication method blocked"  # 6983


class ReferenceDataNotUsable(StatusWordError):
    meaning = "reference data not usable"  # 6984


class ConditionsNotSatisfied(StatusWordError):
    meaning = "conditions of use not satisfied"  # 6985


class CommandNotAllowed(StatusWordError):
    meaning = "command not allowed (no current EF)"  # 6986


class IncorrectData(StatusWordError):
    meaning = "incorrect parameters in the data field"  # 6A80


class FunctionNotSupported(StatusWordError):
    meaning = "function not supported"  # 6A81


class FileNotFound(StatusWordError):
    meaning = "file or application not found"  # 6A82


class RecordNotFound(StatusWordError):
    meaning = "record not found"  # 6A83


class IncorrectP1P2(StatusWordError):
    meaning = "incorrect parameters P1-P2"  # 6A86


class ReferencedDataNotFound(StatusWordError):
    meaning = "referenced data not found"  # 6A88


class WrongP1P2(StatusWordError):
    meaning = "wrong parameters P1-P2 (offset outside the EF)"  # 6B00


class InsNotSupported(StatusWordError):
    meaning = "instruction not supported"  # 6D00


class ClaNotSupported(StatusWordError):
    meaning = "class not supported"  # 6E00


class UnknownError(StatusWordError):
    meaning = "no precise diagnosis"  # 6F00


_BY_SW: dict[int, type[StatusWordError]] = {
    0x6282: WarningEndOfFile,
    0x6581: MemoryFailure,
    0x6700: WrongLength,
    0x6982: SecurityStatusNotSatisfied,
    0x6983: AuthenticationBlocked,
    0x6984: ReferenceDataNotUsable,
    0x6985: ConditionsNotSatisfied,
    0x6986: CommandNotAllowed,
    0x6A80: IncorrectData,
    0x6A81: FunctionNotSupported,
    0x6A82: FileNotFound,
    0x6A83: RecordNotFound,
    0x6A86: IncorrectP1P2,
    0x6A88: ReferencedDataNotFound,
    0x6B00: WrongP1P2,
    0x6D00: InsNotSupported,
    0x6E00: ClaNotSupported,
    0x6F00: UnknownError,
}


def status_error(sw: int) -> StatusWordError:
    """The exception for a non-9000 status word (the project's single SW -> error mapping)."""
    if sw & 0xFFF0 == 0x63C0:
        return VerificationFailed(sw)
    return _BY_SW.get(sw, StatusWordError)(sw)


# ---------------------------------------------------------------------------------------------
# Commands every application needs (built here once, so no driver hand-assembles bytes).


def select_aid(aid: bytes, *, fci: bool = False) -> Command:
    """SELECT by DF name (P1=04). P2=0C: no response data; P2=00 with Le: return the FCI."""
    return Command(0x00, 0xA4, 0x04, 0x00 if fci else 0x0C, aid, le=0x100 if fci else None)


def select_path(path: bytes, *, from_mf: bool = True) -> Command:
    """SELECT by path (P1=08 from the MF, 09 from the current DF), no response data."""
    if not path or len(path) % 2:
        raise ApduFormatError("a path is a non-empty sequence of two-byte file identifiers")
    return Command(0x00, 0xA4, 0x08 if from_mf else 0x09, 0x0C, path)


def select_fid(fid: int) -> Command:
    """SELECT a file by its identifier in the current DF (P1=02 for an EF, no response)."""
    return Command(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big"))


def read_binary(offset: int, le: int = 0x100) -> Command:
    """READ BINARY of the current EF; offsets up to 7FFF (P1 bit 8 clear)."""
    if not 0 <= offset <= 0x7FFF:
        raise ApduFormatError(f"READ BINARY offset must be 0..32767, got {offset}")
    return Command(0x00, 0xB0, offset >> 8, offset & 0xFF, le=le)


def get_response(le: int) -> Command:
    return Command(0x00, 0xC0, 0x00, 0x00, le=le or 0x100)


class ApduChannel:
    """Sends commands over a transport, following 61xx (GET RESPONSE) and 6Cxx (re-send with
    the Le the card asked for) so no application has to."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def _exchange(self, cmd: Command) -> Response:
        raw = self.transport.transmit(cmd.to_bytes())
        try:
            return Response.from_bytes(raw)
        except ApduFormatError as exc:
            # Bytes the card sent: its fault, a card error, never a caller's ValueError.
            raise CardProtocolError(f"malformed response APDU: {exc}") from None

    def transceive(self, cmd: Command) -> Response:
        """The complete response, whatever its status word (for callers that accept warnings)."""
        resp = self._exchange(cmd)
        if resp.sw1 == 0x6C:
            resp = self._exchange(
                Command(cmd.cla, cmd.ins, cmd.p1, cmd.p2, cmd.data, le=resp.sw2 or 0x100)
            )
        data = resp.data
        rounds = 0
        while resp.sw1 == 0x61:
            rounds += 1
            if rounds > MAX_GET_RESPONSE_ROUNDS:
                raise CardProtocolError("card kept answering 61xx: response too long")
            resp = self._exchange(get_response(resp.sw2))
            data += resp.data
        return Response(data, resp.sw)

    def send(self, cmd: Command) -> bytes:
        """Response data of a command that must end in 9000; any other SW raises."""
        resp = self.transceive(cmd)
        resp.raise_for_status()
        return resp.data
