"""A CPS through a PKCS#11 module: the :class:`~drivers.cards.cps_model.CpsBackend` a deployed
box uses with the card middleware.

In the field the module is OpenSC's ``opensc-pkcs11.so`` (CPS3, IAS-ECC driver) or the ANS
"Cryptolib CPS" (CPS3 and CPS4); in tests it is SoftHSM2 holding a CPS-like RSA-2048 key pair
and certificate per role. Nothing here depends on which.

What PKCS#11 tells, and how it is used:

* Roles. The two keys are told apart by their certificates' KeyUsage: the non-repudiation key
  (``contentCommitment``) is :attr:`KeyRole.SIGN`, the other one (``digitalSignature`` only) is
  :attr:`KeyRole.AUTH`. A private key is the one sharing the certificate's CKA_ID. Labels differ
  between middlewares; usages do not.
* Holder. From the certificate subject (``drivers.sim.testpki.cps_subject`` / IGC-Santé CPS
  profile): SN = nom, GN = prénom, title = profession, CN = "8" + RPPS + "/CPS-…". The card
  serial is the token serial. Civilité, specialty and the situations d'exercice are card data
  files that PKCS#11 does not standardise: this backend returns them empty, and a daemon that
  needs situations reads them with the APDU backend (``drivers.cards.cps``).
* Tries left. PKCS#11 has no counter, only token flags: USER_PIN_LOCKED → 0, USER_PIN_FINAL_TRY
  → 1, USER_PIN_COUNT_LOW → ``max_tries - 1`` (at least one failure), none → ``max_tries``. For
  the CPS's 3-try PIN this is exact (OpenSC over a CPS3 sets COUNT_LOW, FINAL_TRY, LOCKED as
  the card's counter goes 2, 1, 0; SoftHSM2 only ever sets COUNT_LOW and never locks).
* Logout. C_Logout, then a card reset through PC/SC (see :meth:`Pkcs11Cps.logout`).
* PIN handling. python-pkcs11 0.10 takes the PIN as ``str``; the ``bytearray`` the caller gave
  is wiped as soon as C_Login returns. The short-lived immutable copy is the library's limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, Mechanism, ObjectClass, TokenFlag
from pkcs11 import exceptions as p11

from drivers.cards.cps_model import CpsHolder, KeyRole
from drivers.errors import (
    CardError,
    CardRemoved,
    LastTryRefused,
    PinBlocked,
    ReaderUnavailable,
    SecurityNotSatisfied,
    WrongPin,
)
from drivers.pcsc import PcscConnection, list_readers

CPS_PIN_TRIES = 3
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
"""DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1), for raw CKM_RSA_PKCS signing."""

_TOKEN_GONE = (p11.TokenNotPresent, p11.DeviceRemoved, p11.SessionClosed, p11.SessionHandleInvalid)


class _MechanismRefused(CardError):
    """The module does not offer this mechanism for this key (CKR_FUNCTION_NOT_SUPPORTED)."""


def tries_from_flags(flags: int, max_tries: int = CPS_PIN_TRIES) -> int:
    """PIN tries left as far as the token flags tell (see the module docstring)."""
    if flags & TokenFlag.USER_PIN_LOCKED:
        return 0
    if flags & TokenFlag.USER_PIN_FINAL_TRY:
        return 1
    if flags & TokenFlag.USER_PIN_COUNT_LOW:
        return max(max_tries - 1, 1)
    return max_tries


def _wipe(secret: bytearray) -> None:
    for i in range(len(secret)):
        secret[i] = 0


@dataclass(frozen=True)
class _KeyRef:
    key_id: bytes
    certificate: bytes


def role_of(cert: x509.Certificate) -> KeyRole | None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if usage.content_commitment:
        return KeyRole.SIGN
    if usage.digital_signature:
        return KeyRole.AUTH
    return None


def holder_from_certificate(cert: x509.Certificate, card_serial: str) -> CpsHolder:
    def one(oid: x509.ObjectIdentifier) -> str:
        values = cert.subject.get_attributes_for_oid(oid)
        if not values:
            raise CardError(f"CPS certificate subject has no {oid._name}")
        return str(values[0].value)

    cn = one(NameOID.COMMON_NAME)
    national_id = cn.split("/", 1)[0]
    if not (national_id.startswith("8") and national_id[1:].isdigit()):
        raise CardError(f"CPS certificate CN is not an RPPS identifier: {cn!r}")
    return CpsHolder(
        card_serial=card_serial,
        civilite="",
        nom=one(NameOID.SURNAME),
        prenom=one(NameOID.GIVEN_NAME),
        rpps=national_id[1:],
        profession=one(NameOID.TITLE),
        specialty=None,
        situations=(),
    )


class Pkcs11Cps:
    """One CPS seen as a PKCS#11 token. Thread-safe; meant to be owned by one card worker."""

    def __init__(
        self,
        module: str | Path,
        *,
        token_label: str | None = None,
        max_tries: int = CPS_PIN_TRIES,
        lib: Any = None,
        reset_on_logout: bool = True,
    ) -> None:
        if max_tries < 1:
            raise ValueError("a PIN allows at least one try")
        self._lib = lib if lib is not None else pkcs11.lib(str(module))
        self._token_label = token_label
        self._max_tries = max_tries
        self._reset_on_logout = reset_on_logout
        self._lock = threading.RLock()
        self._session: Any = None  # the logged-in session, None when logged out
        self._keys = self._read_keys()

    # -- CpsBackend -----------------------------------------------------------------------------

    def holder(self) -> CpsHolder:
        cert = x509.load_der_x509_certificate(self.certificate(KeyRole.AUTH))
        serial = self._token().serial.decode("ascii", "replace").strip()
        return holder_from_certificate(cert, serial)

    def certificate(self, role: KeyRole) -> bytes:
        return self._keys[role].certificate

    def tries_left(self) -> int:
        return tries_from_flags(int(self._token().flags), self._max_tries)

    def verify_pin(self, pin: bytearray, *, from_person: bool = False) -> None:
        try:
            with self._lock:
                tries = self.tries_left()
                if tries == 0:
                    raise PinBlocked("the CPS PIN is blocked")
                if tries == 1 and not from_person:
                    raise LastTryRefused()
                self._logout_locked()
                try:
                    self._session = self._token().open(user_pin=pin.decode("utf-8"))
                except p11.PinIncorrect:
                    left = self.tries_left()
                    if left == 0:
                        raise PinBlocked("the CPS PIN is now blocked") from None
                    raise WrongPin(left) from None
                except p11.PinLocked:
                    raise PinBlocked("the CPS PIN is blocked") from None
                except (p11.PinLenRange, p11.PinInvalid):
                    raise WrongPin(self.tries_left()) from None
                except _TOKEN_GONE as exc:
                    raise CardRemoved(f"CPS token gone: {type(exc).__name__}") from None
        finally:
            _wipe(pin)

    def sign_digest(self, role: KeyRole, digest: bytes) -> bytes:
        if len(digest) != 32:
            raise ValueError(f"a SHA-256 digest is 32 bytes, got {len(digest)}")
        try:
            return self._sign(role, SHA256_DIGEST_INFO + digest, Mechanism.RSA_PKCS)
        except _MechanismRefused as exc:
            raise CardError(
                f"the PKCS#11 module cannot sign with the {role.value} key: {exc}"
            ) from None

    def sign_data(self, role: KeyRole, data: bytes) -> bytes:
        # Hashing in the module first: for the non-repudiation key a CPS computes the last hash
        # block itself. OpenSC's iasecc offers only CKM_RSA_PKCS for the AUTH key (measured
        # through pcscd), so fall back to DigestInfo over a host hash; same signature bytes.
        try:
            return self._sign(role, data, Mechanism.SHA256_RSA_PKCS)
        except _MechanismRefused:
            return self.sign_digest(role, hashlib.sha256(data).digest())

    def logout(self) -> None:
        """C_Logout, then a card reset through PC/SC when the token sits in a PC/SC reader.

        OpenSC 0.23's C_Logout leaves a CPS3 verified (measured through pcscd: the card's
        verification state survives it), so without the reset any process on the box that
        reaches the card could still use the PIN typed for us.
        """
        with self._lock:
            self._logout_locked()
            if self._reset_on_logout:
                self._reset_card_in_reader()

    def close(self) -> None:
        self.logout()

    # -- internals ------------------------------------------------------------------------------

    def _token(self) -> Any:
        # A fresh C_GetTokenInfo every time: the PIN flags change with each C_Login.
        try:
            return self._lib.get_token(token_label=self._token_label)
        except p11.NoSuchToken:
            raise CardRemoved("no CPS token present") from None
        except p11.MultipleTokensReturned:
            raise ReaderUnavailable("several tokens: name the CPS token by label") from None

    def _read_keys(self) -> dict[KeyRole, _KeyRef]:
        keys: dict[KeyRole, _KeyRef] = {}
        with self._token().open() as session:
            for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
                der = bytes(obj[Attribute.VALUE])
                role = role_of(x509.load_der_x509_certificate(der))
                if role is not None and role not in keys:
                    keys[role] = _KeyRef(bytes(obj[Attribute.ID]), der)
        missing = {KeyRole.AUTH, KeyRole.SIGN} - set(keys)
        if missing:
            names = ", ".join(sorted(r.value for r in missing))
            raise CardError(f"the token holds no CPS certificate for: {names}")
        return keys

    def _sign(self, role: KeyRole, data: bytes, mechanism: Mechanism) -> bytes:
        with self._lock:
            if self._session is None:
                raise SecurityNotSatisfied("present the CPS PIN first")
            try:
                key = self._session.get_key(
                    object_class=ObjectClass.PRIVATE_KEY, id=self._keys[role].key_id
                )
                return bytes(key.sign(data, mechanism=mechanism))
            except p11.UserNotLoggedIn:
                self._session = None
                raise SecurityNotSatisfied("the CPS session ended: present the PIN") from None
            except _TOKEN_GONE as exc:
                self._session = None
                raise CardRemoved(f"CPS token gone: {type(exc).__name__}") from None
            except p11.NoSuchKey:
                raise CardError(f"no private key for the {role.value} certificate") from None
            except (p11.FunctionNotSupported, p11.MechanismInvalid) as exc:
                raise _MechanismRefused(f"{mechanism.name}: {type(exc).__name__}") from None
            except p11.PKCS11Error as exc:
                raise CardError(
                    f"the PKCS#11 module refused the {role.value} signature: {type(exc).__name__}"
                ) from None

    def _reset_card_in_reader(self) -> None:
        try:
            reader = str(self._token().slot.slot_description).strip()
            if reader not in list_readers():
                return  # a soft token (SoftHSM) or a reader pcscd does not know
            PcscConnection(reader, exclusive=False).close(reset=True)
        except CardError:
            return  # no pcscd, or the card left: nothing stays unlocked either way

    def _logout_locked(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(*_TOKEN_GONE):
                session.close()
