"""The CPS (IAS-ECC CPS3 application) over APDUs: any object with ``transmit(bytes) -> bytes``.

Implements ``CpsBackend``. Rules it enforces for the daemon:
- the PIN travels in a ``bytearray`` which :meth:`CpsCard.verify_pin` wipes before returning,
  and is never logged, stored or put in an exception message;
- an automated caller never spends the last PIN try (``LastTryRefused``);
- the non-repudiation key signs a hash whose last block the card computes (IAS-ECC PSO HASH
  with an intermediate SHA-256 state), as the CPS requires for signatures it vouches for.

Status words become typed errors in ``drivers.apdu``; the PUK-specific ones are refined here.
"""

from __future__ import annotations

import hashlib

from cryptography import x509

from drivers import apdu, tlv
from drivers.apdu import ApduChannel, Command, Transport
from drivers.cards import cps_files as F
from drivers.cards import sha256_state
from drivers.cards.cps_model import CpsHolder, KeyRole, Situation
from drivers.errors import CardError, CardProtocolError, LastTryRefused, PinBlocked
from drivers.tlv import LayoutError

SHA256_DIGESTINFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")
"""DER DigestInfo header for SHA-256 (RFC 8017 §9.2 note 1)."""

CPS3_ATR = bytes.fromhex("3BAC00402A001225006480000310009000")
"""CPS3, contact interface (DOMAIN.md)."""
CPS4_ATR = bytes.fromhex("3B9B188001001225006480040100009044")
"""CPS4 (ChipDoc), contact interface (DOMAIN.md): recognised, not driven by this APDU driver."""
# Both carry the issuer id 80 25 ... in their historical bytes; the last bytes vary by batch.
_CPS_ATR_PREFIXES = (CPS3_ATR[:15], CPS4_ATR[:13])


def is_cps_atr(atr: bytes) -> bool:
    """Whether a card's ATR is a CPS's, so a reader watcher can tell what was inserted."""
    return any(atr.startswith(prefix) for prefix in _CPS_ATR_PREFIXES)


MAX_FILE_BYTES = 16 * 1024
"""Largest EF the driver reads (a CPS certificate is under 2 KiB); bounds the read loop."""

_CERT_FID = {KeyRole.SIGN: F.EF_CERT_SIGN, KeyRole.AUTH: F.EF_CERT_AUTH}


class WrongPuk(CardError):
    """The card refused the PUK; ``tries_left`` PUK tries remain."""

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"wrong PUK, {tries_left} tries left")
        self.tries_left = tries_left


class PukBlocked(CardError):
    """The PUK cannot be used any more: blocked by wrong tries, or the card's 10 unblocks in a
    lifetime are spent. Only a new card helps."""


def _wipe(secret: bytearray) -> None:
    secret[:] = bytes(len(secret))


def _check_digits(secret: bytearray, what: str, low: int, high: int) -> None:
    # The message names the rule, never the value.
    if not low <= len(secret) <= high or not bytes(secret).isdigit():
        raise ValueError(f"{what} must be {low} to {high} digits")


class CpsCard:
    """One CPS in one reader. Not thread-safe: the scheduler gives each card one worker."""

    def __init__(self, transport: Transport) -> None:
        self.channel = ApduChannel(transport)
        self._identity: CpsHolder | None = None
        self._situations: tuple[Situation, ...] | None = None
        self._certs: dict[KeyRole, bytes] = {}

    # -- files -------------------------------------------------------------------------------
    def _read_current(self) -> bytes:
        out = b""
        while len(out) < MAX_FILE_BYTES:
            resp = self.channel.transceive(apdu.read_binary(len(out), 0x100))
            if resp.sw == 0x6B00 and out:
                break  # file length was an exact multiple of 256
            if resp.sw not in (apdu.SW_OK, 0x6282):
                resp.raise_for_status()
            out += resp.data
            if resp.sw == 0x6282 or len(resp.data) < 0x100:
                break
        else:
            raise CardProtocolError(f"EF larger than {MAX_FILE_BYTES} bytes")
        return out

    def _read_path(self, path: bytes) -> bytes:
        self.channel.send(apdu.select_path(path))
        return self._read_current()

    # -- identity --------------------------------------------------------------------------
    def identity(self) -> CpsHolder:
        """Holder identity without situations: freely readable, no PIN needed."""
        if self._identity is None:
            try:
                raw = [self._read_path(F.data_path(fid))
                       for fid in (F.EF_ID_CARD, F.EF_NAME_PS, F.EF_INFO_PS)]  # fmt: skip
                self._identity = F.decode_holder(raw[0], raw[1], raw[2], ())
            except LayoutError as exc:
                raise CardProtocolError(str(exc)) from exc
        return self._identity

    def holder(self) -> CpsHolder:
        """Identity with the situations d'exercice; those need the PIN (SecurityNotSatisfied)."""
        ident = self.identity()
        if self._situations is None:
            found: list[Situation] = []
            try:
                for n in range(1, F.SITUATION_SLOTS + 1):
                    sit = F.decode_situation(self._read_path(F.activity_path(n)))
                    if sit is not None:
                        found.append(sit)
            except LayoutError as exc:
                raise CardProtocolError(str(exc)) from exc
            self._situations = tuple(found)
        return CpsHolder(
            card_serial=ident.card_serial,
            civilite=ident.civilite,
            nom=ident.nom,
            prenom=ident.prenom,
            rpps=ident.rpps,
            profession=ident.profession,
            specialty=ident.specialty,
            situations=self._situations,
        )

    def certificate(self, role: KeyRole) -> bytes:
        if role not in self._certs:
            self.channel.send(apdu.select_aid(F.PKCS15_AID))
            self.channel.send(apdu.select_fid(_CERT_FID[role]))
            der = self._read_current()
            try:
                x509.load_der_x509_certificate(der)
            except ValueError as exc:
                raise CardProtocolError(f"{role.value} certificate is not DER X.509") from exc
            self._certs[role] = der
        return self._certs[role]

    # -- PIN -------------------------------------------------------------------------------
    def _tries(self, ref: int) -> int:
        # IAS-ECC GET DATA of the CHV object BF 81 <ref>, asking for its DOCP (A0) with an
        # extended header list (tag 4D: tag + length pairs, not BER): 70 06 BF 81 ref 02 A0 80.
        request = bytes((0x4D, 0x08, 0x70, 0x06, 0xBF, 0x81, ref, 0x02, 0xA0, 0x80))
        raw = self.channel.send(Command(0x00, 0xCB, 0x3F, 0xFF, request, le=0x100))
        try:
            docp = tlv.decode(raw).require(0xBF8100 | ref).require(0xA0)
            left = docp.require(0x9B).value
        except tlv.TlvError as exc:
            raise CardProtocolError(f"tries counter answer: {exc}") from exc
        if len(left) != 1:
            raise CardProtocolError("tries counter is not one byte")
        return left[0]

    def tries_left(self) -> int:
        return self._tries(F.PIN_REF)

    def puk_tries_left(self) -> int:
        return self._tries(F.PUK_REF)

    def verify_pin(self, pin: bytearray, *, from_person: bool = False) -> None:
        """Present the PIN; ``pin`` is wiped whatever happens."""
        try:
            _check_digits(pin, "the PIN", 4, 8)
            tries = self.tries_left()
            if tries == 0:
                raise PinBlocked("the PIN is blocked: unblock it with the PUK")
            if tries == 1 and not from_person:
                raise LastTryRefused(tries)
            self.channel.send(Command(0x00, 0x20, 0x00, F.PIN_REF, bytes(pin)))
        finally:
            _wipe(pin)

    def unblock(self, puk: bytearray, new_pin: bytearray | None = None) -> None:
        """RESET RETRY COUNTER with the PUK (and optionally a new PIN); wipes both."""
        try:
            _check_digits(puk, "the PUK", 8, 8)
            if new_pin is not None:
                _check_digits(new_pin, "the new PIN", 4, 8)
            data = bytes(puk) + (bytes(new_pin) if new_pin is not None else b"")
            p1 = 0x00 if new_pin is not None else 0x01
            try:
                self.channel.send(Command(0x00, 0x2C, p1, F.PIN_REF, data))
            except apdu.VerificationFailed as exc:
                raise WrongPuk(exc.tries_left) from None
            except apdu.AuthenticationBlocked:
                raise PukBlocked("the PUK is blocked or the card's unblocks are spent") from None
        finally:
            _wipe(puk)
            if new_pin is not None:
                _wipe(new_pin)

    def logout(self) -> None:
        """Drop the verified PIN: VERIFY with P1=FF (ISO 7816-4 §7.5.6) resets the verification
        status. Over PC/SC the connection layer may reset the card instead; both end the same."""
        self._situations = None
        self.channel.send(Command(0x00, 0x20, 0xFF, F.PIN_REF))

    # -- keys ------------------------------------------------------------------------------
    def _mse(self, template: int, key_ref: int) -> None:
        data = tlv.encode([tlv.Tlv(0x84, bytes((key_ref,)))])
        self.channel.send(Command(0x00, 0x22, 0x41, template, data))

    def _sign_with_card_hash(self, hash_data: bytes) -> bytes:
        self._mse(0xB6, F.KEY_SIGN)
        self.channel.send(Command(0x00, 0x2A, 0x90, 0xA0, hash_data))
        return self.channel.send(Command(0x00, 0x2A, 0x9E, 0x9A, le=0x100))

    def internal_authenticate(self, block: bytes) -> bytes:
        """Raw PKCS#1 v1.5 (type 1) private operation of the AUTH key over ``block``."""
        self._mse(0xA4, F.KEY_AUTH)
        return self.channel.send(Command(0x00, 0x88, 0x00, 0x00, block, le=0x100))

    def decipher(self, ciphertext: bytes) -> bytes:
        """PKCS#1 v1.5 decryption with the AUTH key (PSO DECIPHER, IAS-ECC padding indicator
        81 before the cryptogram)."""
        self._mse(0xB8, F.KEY_AUTH)
        return self.channel.send(Command(0x00, 0x2A, 0x80, 0x86, b"\x81" + ciphertext, le=0x100))

    def sign_digest(self, role: KeyRole, digest: bytes) -> bytes:
        if len(digest) != 32:
            raise ValueError("a SHA-256 digest is 32 bytes")
        if role is KeyRole.SIGN:
            # IAS-ECC PSO HASH with the whole hash computed off card (tag 90, 32 bytes).
            return self._sign_with_card_hash(tlv.Tlv(0x90, digest).encode())
        return self.internal_authenticate(SHA256_DIGESTINFO_PREFIX + digest)

    def sign_data(self, role: KeyRole, data: bytes) -> bytes:
        if role is KeyRole.SIGN:
            state, tail = sha256_state.split(data)
            return self._sign_with_card_hash(
                tlv.encode([tlv.Tlv(0x90, state), tlv.Tlv(0x80, tail)])
            )
        return self.sign_digest(role, hashlib.sha256(data).digest())
