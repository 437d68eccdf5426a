"""A simulated CPS3: the IAS-ECC card application of the French health professional card.

What is modelled (DOMAIN.md, IAS-ECC v1.0.1, ISO 7816-4/-8/-15): the CPS3 ATR; the MF with
EF.DIR, EF.ATR (3F00/2F01) and EF.SN.ICC (3F00/D003, issuer id 80 25 00 00 01); the PKCS#15
application (AID E8 28 BD 08 0F 80 25 00 00 01 FF 00 10) with EF.ODF, EF.TokenInfo, EF.AODF,
EF.PrKDF, EF.CDF and the two certificates; the holder files under 3F00/0001 in Comptoir's own
layout (``drivers.cards.cps_files``); a 4-digit PIN with 3 tries and a PUK (at most 10 unblocks
in a card's life); two RSA-2048 keys, 0x81 (non-repudiation: PSO HASH with the last hash block
finished on the card, then PSO COMPUTE DIGITAL SIGNATURE) and 0x82 (INTERNAL AUTHENTICATE with
input up to 40 % of the modulus, PSO DECIPHER). The security state (verified PIN, security
environment, pending hash) is lost on power off and reset, as on a real card.

The card answers every command with a status word; nothing here raises into the reader.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from drivers import tlv
from drivers.apdu import ApduFormatError, Command, Response
from drivers.cards import cps_files as F
from drivers.cards import sha256_state
from drivers.cards.cps import CPS3_ATR
from drivers.cards.cps_model import CpsHolder
from drivers.sim import pkcs15_files as P
from drivers.sim.iso_fs import DF, EF, Access, FileSystem, SwError, fcp
from drivers.sim.timing import Timing

MAX_UNBLOCKS = 10
INTERNAL_AUTH_MAX_RATIO = 0.4
"""IAS-ECC: INTERNAL AUTHENTICATE input may be at most 40 % of the key's modulus length."""


@dataclass(frozen=True)
class CpsCardConfig:
    """Everything a CPS card file defines (see ``drivers.sim.cardfile``)."""

    holder: CpsHolder
    pin: str
    puk: str
    auth_key: rsa.RSAPrivateKey
    auth_cert: x509.Certificate
    sign_key: rsa.RSAPrivateKey
    sign_cert: x509.Certificate
    card_type: str = "CPS3"
    valid_from: str = "20240101"
    valid_until: str = "20270101"
    atr: bytes = CPS3_ATR
    pin_tries_max: int = 3
    puk_tries_max: int = 3
    pin_tries_left: int = 3
    puk_tries_left: int = 3
    unblocks_left: int = MAX_UNBLOCKS
    answers_61xx_forever: bool = False
    """A faulty card: every command, GET RESPONSE included, is answered ``61 10`` ("more data
    waiting") so a reader that follows 61xx without a bound never returns."""

    def __repr__(self) -> str:
        # Never show PIN, PUK or keys.
        return f"CpsCardConfig(serial={self.holder.card_serial!r}, nom={self.holder.nom!r})"


@dataclass
class _Security:
    """Volatile state: what a reset wipes."""

    pin_verified: bool = False
    env: dict[int, int] = field(default_factory=dict)  # CRT tag (B6/A4/B8) -> key reference
    pending_hash: bytes | None = None
    chain: bytes = b""


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def build_file_system(cfg: CpsCardConfig) -> DF:
    h = cfg.holder
    mf = DF(F.MF)
    mf.ef(F.EF_DIR, P.ef_dir(F.PKCS15_AID, "CPS"))
    mf.ef(F.EF_ATR, P.ef_atr())
    serial_bcd = bytes.fromhex(h.card_serial)
    mf.ef(F.EF_SN_ICC, tlv.Tlv(0x5A, F.ISSUER_ID + serial_bcd).encode(), sfi=F.SFI_SN_ICC)

    data = mf.df(F.DF_CPS_DATA)
    data.ef(
        F.EF_ID_CARD,
        F.encode_id_card(h.card_serial, cfg.card_type, cfg.valid_from, cfg.valid_until),
    )
    data.ef(F.EF_NAME_PS, F.encode_name(h))
    data.ef(F.EF_INFO_PS, F.encode_info(h))
    by_number = {s.number: s for s in h.situations}
    for n in range(1, F.SITUATION_SLOTS + 1):
        data.ef(F.EF_ACTIVITY_FIRST + n - 1, F.encode_situation(by_number.get(n)), Access.PIN)

    app = mf.df(F.PKCS15_DF, F.PKCS15_AID)
    auth_id = b"\x01"
    keys = [
        P.KeyEntry("CPS_PRIV_AUT", b"\x02", F.KEY_AUTH, F.EF_CERT_AUTH, "CPS_CERT_AUT",
                   (P.USAGE_DECRYPT, P.USAGE_SIGN), (1, 2, 3, 4)),
        P.KeyEntry("CPS_PRIV_SIG", b"\x01", F.KEY_SIGN, F.EF_CERT_SIGN, "CPS_CERT_SIG",
                   (P.USAGE_NON_REPUDIATION,), (3, 4)),
    ]  # fmt: skip
    app_path = F.MF.to_bytes(2, "big") + F.PKCS15_DF.to_bytes(2, "big")
    app.ef(F.EF_ODF, P.odf(F.EF_PRKDF, F.EF_CDF, F.EF_AODF))
    app.ef(
        F.EF_TOKENINFO,
        P.token_info(h.card_serial, "ASIP-SANTE (simulated)", f"CPS de {h.prenom} {h.nom}"),
    )
    app.ef(F.EF_AODF, P.aodf("PIN CPS", auth_id, F.PIN_REF, len(cfg.pin), len(cfg.pin)))
    app.ef(F.EF_PRKDF, P.prkdf(keys, auth_id, cfg.auth_key.key_size, app_path))
    app.ef(F.EF_CDF, P.cdf(keys))
    app.ef(F.EF_CERT_AUTH, _der(cfg.auth_cert))
    app.ef(F.EF_CERT_SIGN, _der(cfg.sign_cert))
    return mf


def _raw_rsa_sign(key: rsa.RSAPrivateKey, block: bytes) -> bytes:
    """RSA with PKCS#1 v1.5 type-1 padding around ``block`` as given (no DigestInfo added):
    what INTERNAL AUTHENTICATE does with the host's challenge or DigestInfo."""
    k = (key.key_size + 7) // 8
    if len(block) > k - 11:
        raise SwError(0x6700)
    em = b"\x00\x01" + b"\xff" * (k - 3 - len(block)) + b"\x00" + block
    n = key.private_numbers()
    m = int.from_bytes(em, "big")
    # CRT (RFC 8017 §5.1.2): about four times faster than pow(m, d, n).
    m1, m2 = pow(m, n.dmp1, n.p), pow(m, n.dmq1, n.q)
    s = m2 + ((n.iqmp * (m1 - m2)) % n.p) * n.q
    return s.to_bytes(k, "big")


class CpsApplication:
    """The simulated card (implements ``drivers.sim.card.SimCard``)."""

    kind = "cps"

    def __init__(self, config: CpsCardConfig, timing: Timing | None = None) -> None:
        self.config = config
        self.timing = timing or Timing.zero()
        self.fs = FileSystem(build_file_system(config))
        self.pin_tries_left = config.pin_tries_left
        self.puk_tries_left = config.puk_tries_left
        self.unblocks_left = config.unblocks_left
        self._pin = config.pin.encode("ascii")
        self._puk = config.puk.encode("ascii")
        self._keys = {F.KEY_SIGN: config.sign_key, F.KEY_AUTH: config.auth_key}
        self.powered = False
        self.sec = _Security()

    # -- SimCard ----------------------------------------------------------------------------
    @property
    def atr(self) -> bytes:
        return self.config.atr

    def power_on(self) -> None:
        self.powered = True
        self._reset()

    def power_off(self) -> None:
        self.powered = False
        self._reset()

    def _reset(self) -> None:
        self.sec = _Security()
        self.fs.reset()

    def process(self, apdu: bytes) -> bytes:
        if not self.powered:
            raise RuntimeError("APDU sent to an unpowered card")
        if self.config.answers_61xx_forever:
            self.timing.spend()
            return Response(b"", 0x6110).to_bytes()
        try:
            cmd = Command.parse(apdu)
        except ApduFormatError:
            self.timing.spend()
            return Response(b"", 0x6700).to_bytes()
        self.timing.spend(_operation(cmd))
        try:
            data = self._dispatch(cmd)
        except SwError as err:
            return Response(b"", err.sw).to_bytes()
        if isinstance(data, Response):
            return data.to_bytes()
        return Response(data, 0x9000).to_bytes()

    # -- dispatch ---------------------------------------------------------------------------
    def _dispatch(self, cmd: Command) -> bytes | Response:
        if cmd.cla & ~0x10:
            raise SwError(0x6E00)
        if cmd.cla & 0x10:  # ISO 7816-4 command chaining: keep the data, answer 9000
            self.sec.chain += cmd.data
            return b""
        if self.sec.chain:
            cmd = Command(cmd.cla, cmd.ins, cmd.p1, cmd.p2, self.sec.chain + cmd.data, cmd.le)
            self.sec.chain = b""
        handler = _HANDLERS.get(cmd.ins)
        if handler is None:
            raise SwError(0x6D00)
        return handler(self, cmd)

    def _select(self, cmd: Command) -> bytes:
        if cmd.p2 not in (0x00, 0x04, 0x0C):
            raise SwError(0x6A86)
        node = self.fs.select(cmd.p1, cmd.data)
        return b"" if cmd.p2 == 0x0C else fcp(node)

    def _read_binary(self, cmd: Command) -> bytes | Response:
        if cmd.p1 & 0x80:  # P1 = 100xxxxx: short EF identifier, P2 = offset
            if cmd.p1 & 0x60:
                raise SwError(0x6A86)
            ef: EF | None = self.fs.select_sfi(cmd.p1 & 0x1F)
            offset = cmd.p2
        else:
            ef = self.fs.current_ef
            offset = (cmd.p1 << 8) | cmd.p2
        if ef is None:
            raise SwError(0x6986)
        self._check_read(ef)
        if cmd.le is None:
            raise SwError(0x6700)
        if offset > len(ef.content):
            raise SwError(0x6B00)
        chunk = ef.content[offset : offset + cmd.le]
        if len(chunk) < cmd.le:
            return Response(chunk, 0x6282)  # end of file reached before Le bytes
        return chunk

    def _check_read(self, ef: EF) -> None:
        if ef.read is Access.NEVER:
            raise SwError(0x6982)
        if ef.read is Access.PIN and not self.sec.pin_verified:
            raise SwError(0x6982)

    def _get_data(self, cmd: Command) -> bytes:
        # IAS-ECC GET DATA of a security data object (00 CB 3F FF): the request is
        # 4D { 70 { BF <class|80> <ref> <header list> } }, the header list naming what is
        # wanted, each tag followed by a length byte. Modelled: the two CHVs (PIN, PUK: 7F41
        # sizes, A0 DOCP with ACLs and tries) and the two RSA private keys (7F48, A0 DOCP with
        # key size and per-operation ACLs), which OpenSC reads before MSE SET.
        if (cmd.p1, cmd.p2) != (0x3F, 0xFF):
            raise SwError(0x6A86)
        cls, ref, wanted = _parse_sdo_request(cmd.data)
        if cls == _SDO_CLASS_CHV and ref in (F.PIN_REF, F.PUK_REF):
            items = [self._chv_item(ref, tag) for tag in wanted]
        elif cls == _SDO_CLASS_RSA_PRIVATE and (0x80 | ref) in self._keys:
            items = [self._key_item(0x80 | ref, tag) for tag in wanted]
        else:
            raise SwError(0x6A88)
        sdo = tlv.Tlv(0xBF0000 | (cls | 0x80) << 8 | ref, children=tuple(items))
        return tlv.Tlv(0x70, children=(sdo,)).encode()

    def _chv_item(self, ref: int, tag: int) -> tlv.Tlv:
        is_pin = ref == F.PIN_REF
        length = bytes((len(self._pin if is_pin else self._puk),))
        if tag == 0x7F41:
            return tlv.Tlv(0x7F41, children=(tlv.Tlv(0x80, length), tlv.Tlv(0x81, length)))
        if tag != 0xA0:
            raise SwError(0x6A88)
        left = self.pin_tries_left if is_pin else self.puk_tries_left
        most = self.config.pin_tries_max if is_pin else self.config.puk_tries_max
        # CHV access modes: change, verify, reset, -, -, put data, get data.
        acl = bytes((0x7F, _SCB_USER_AUTH, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00))
        return tlv.Tlv(0xA0, children=(
            tlv.Tlv(0xA1, children=(tlv.Tlv(0x8C, acl),)),
            tlv.Tlv(0x9A, bytes((most,))),
            tlv.Tlv(0x9B, bytes((left,))),
        ))  # fmt: skip

    def _key_item(self, key_ref: int, tag: int) -> tlv.Tlv:
        if tag == 0x7F48:
            return tlv.Tlv(0x7F48)  # private key material: never readable
        if tag != 0xA0:
            raise SwError(0x6A88)
        # RSA key access modes: PSO CDS, INTERNAL AUTHENTICATE, PSO DECIPHER, generate, -,
        # put data, get data. The signature key only signs; the other authenticates and
        # deciphers; both after the cardholder PIN.
        u, never = _SCB_USER_AUTH, 0xFF
        ops = (u, never, never) if key_ref == F.KEY_SIGN else (never, u, u)
        acl = bytes((0x7F, *ops, never, never, never, 0x00))
        # DOCP size of an RSA key is its modulus length in bytes (OpenSC checks 256, not 2048).
        size = (self._keys[key_ref].key_size // 8).to_bytes(2, "big")
        return tlv.Tlv(0xA0, children=(
            tlv.Tlv(0xA1, children=(tlv.Tlv(0x8C, acl),)),
            tlv.Tlv(0x80, size),
        ))  # fmt: skip

    def _verify(self, cmd: Command) -> bytes:
        if cmd.p2 != F.PIN_REF:
            raise SwError(0x6A88)
        if cmd.p1 == 0xFF:  # ISO 7816-4 (2005) §7.5.6: reset the verification status
            if cmd.data:
                raise SwError(0x6700)
            self.sec.pin_verified = False
            return b""
        if cmd.p1 != 0x00:
            raise SwError(0x6A86)
        if self.pin_tries_left == 0:
            raise SwError(0x6983)
        if not cmd.data:  # empty VERIFY: tell the state without spending a try
            if self.sec.pin_verified:
                return b""
            raise SwError(0x63C0 | self.pin_tries_left)
        if _equal(cmd.data, self._pin):
            self.pin_tries_left = self.config.pin_tries_max
            self.sec.pin_verified = True
            return b""
        self.sec.pin_verified = False
        self.pin_tries_left -= 1
        if self.pin_tries_left == 0:
            raise SwError(0x6983)
        raise SwError(0x63C0 | self.pin_tries_left)

    def _reset_retry_counter(self, cmd: Command) -> bytes:
        # P1=00: PUK then new PIN; P1=01: PUK only (the PIN keeps its value).
        if cmd.p2 != F.PIN_REF:
            raise SwError(0x6A88)
        if cmd.p1 not in (0x00, 0x01):
            raise SwError(0x6A86)
        n = len(self._puk)
        puk, new_pin = cmd.data[:n], cmd.data[n:]
        if (cmd.p1 == 0x01 and new_pin) or (cmd.p1 == 0x00 and not new_pin):
            raise SwError(0x6700)
        if cmd.p1 == 0x00 and not (4 <= len(new_pin) <= 8 and new_pin.isdigit()):
            raise SwError(0x6A80)
        if self.puk_tries_left == 0 or self.unblocks_left == 0:
            raise SwError(0x6983)  # PUK unusable: blocked, or the card's 10 unblocks spent
        if not _equal(puk, self._puk):
            self.puk_tries_left -= 1
            raise SwError(0x6983 if self.puk_tries_left == 0 else 0x63C0 | self.puk_tries_left)
        self.puk_tries_left = self.config.puk_tries_max
        self.unblocks_left -= 1
        if new_pin:
            self._pin = new_pin
        self.pin_tries_left = self.config.pin_tries_max
        return b""

    def _mse(self, cmd: Command) -> bytes:
        if cmd.p1 == 0xF3:  # RESTORE: back to an empty environment
            self.sec.env.clear()
            return b""
        if cmd.p1 != 0x41 or cmd.p2 not in (0xB6, 0xA4, 0xB8, 0xAA):
            raise SwError(0x6A86)
        if cmd.p2 == 0xAA:  # hash template: SHA-256 is the only hash modelled
            return b""
        try:
            objs = tlv.decode_all(cmd.data)
        except tlv.TlvError as exc:
            raise SwError(0x6A80) from exc
        ref = tlv.find(objs, 0x84) or tlv.find(objs, 0x83)
        if ref is None or len(ref.value) != 1:
            raise SwError(0x6A80)
        allowed = F.KEY_SIGN if cmd.p2 == 0xB6 else F.KEY_AUTH
        if ref.value[0] != allowed:
            raise SwError(0x6A88)
        self.sec.env[cmd.p2] = ref.value[0]
        self.sec.pending_hash = None
        return b""

    def _pso(self, cmd: Command) -> bytes:
        op = (cmd.p1, cmd.p2)
        if op == (0x90, 0xA0):
            return self._pso_hash(cmd)
        if op == (0x9E, 0x9A):
            return self._pso_sign(cmd)
        if op == (0x80, 0x86):
            return self._pso_decipher(cmd)
        raise SwError(0x6A86)

    def _pso_hash(self, cmd: Command) -> bytes:
        # 90 <32-byte hash> (hashed off card), or 90 <state+count, 40 bytes> 80 <last bytes>
        # (the card finishes SHA-256: IAS-ECC "partial hash").
        if self.sec.env.get(0xB6) != F.KEY_SIGN:
            raise SwError(0x6985)
        try:
            objs = tlv.decode_all(cmd.data)
        except tlv.TlvError as exc:
            raise SwError(0x6A80) from exc
        state, tail = tlv.find(objs, 0x90), tlv.find(objs, 0x80)
        if state is None:
            raise SwError(0x6A80)
        if len(state.value) == 32 and tail is None:
            self.sec.pending_hash = state.value
            return b""
        try:
            digest = sha256_state.finish(state.value, tail.value if tail else b"")
        except ValueError as exc:
            raise SwError(0x6A80) from exc
        self.sec.pending_hash = digest
        return b""

    def _need_pin_and_key(self, template: int) -> rsa.RSAPrivateKey:
        ref = self.sec.env.get(template)
        if ref is None:
            raise SwError(0x6985)
        if not self.sec.pin_verified:
            raise SwError(0x6982)
        return self._keys[ref]

    def _pso_sign(self, cmd: Command) -> bytes:
        key = self._need_pin_and_key(0xB6)
        if cmd.data:
            raise SwError(0x6A80)
        digest, self.sec.pending_hash = self.sec.pending_hash, None
        if digest is None:
            raise SwError(0x6985)
        return key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))

    def _internal_authenticate(self, cmd: Command) -> bytes:
        if (cmd.p1, cmd.p2) != (0x00, 0x00):
            raise SwError(0x6A86)
        key = self._need_pin_and_key(0xA4)
        limit = int((key.key_size // 8) * INTERNAL_AUTH_MAX_RATIO)
        if not cmd.data or len(cmd.data) > limit:
            raise SwError(0x6700)
        return _raw_rsa_sign(key, cmd.data)

    def _pso_decipher(self, cmd: Command) -> bytes:
        key = self._need_pin_and_key(0xB8)
        # First data byte: padding indicator, 81 as IAS-ECC hosts send it (OpenSC's iasecc
        # driver), or ISO 7816-8's 00 "no further indication".
        if len(cmd.data) != key.key_size // 8 + 1 or cmd.data[0] not in (0x00, 0x81):
            raise SwError(0x6A80)
        try:
            return key.decrypt(cmd.data[1:], padding.PKCS1v15())
        except ValueError as exc:
            raise SwError(0x6A80) from exc

    def _get_challenge(self, cmd: Command) -> bytes:
        if cmd.le is None or cmd.le > 256:
            raise SwError(0x6700)
        return os.urandom(cmd.le)


_SDO_CLASS_CHV = 0x01
_SDO_CLASS_RSA_PRIVATE = 0x10
_SCB_USER_AUTH = 0x12


def _parse_sdo_request(data: bytes) -> tuple[int, int, list[int]]:
    """``(class, reference, wanted tags)`` from ``4D L 70 L BF cls ref L <tag len>...``.

    Parsed by hand: a header list pairs tags with length bytes such as 80 that are not BER
    lengths (ISO 7816-4 §8.5.1 extended header list), so it is not a BER-TLV structure."""
    ok = (
        len(data) >= 8
        and data[0] == 0x4D
        and data[1] == len(data) - 2
        and data[2] == 0x70
        and data[3] == len(data) - 4
        and data[4] == 0xBF
        and data[7] == len(data) - 8
    )
    if not ok:
        raise SwError(0x6A80)
    cls, ref, header_list = data[5] & 0x7F, data[6] & 0x3F, data[8:]
    wanted: list[int] = []
    pos = 0
    while pos < len(header_list):
        size = 2 if header_list[pos] & 0x1F == 0x1F else 1
        if pos + size >= len(header_list):  # every tag is followed by a length byte
            raise SwError(0x6A80)
        wanted.append(int.from_bytes(header_list[pos : pos + size], "big"))
        pos += size + 1
    return cls, ref, wanted


def _equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def _operation(cmd: Command) -> str | None:
    """Name of the card-side cost (``Timing.operation_s``) a command incurs."""
    if cmd.ins == 0x2A:
        return {(0x9E, 0x9A): "sign", (0x80, 0x86): "decipher"}.get((cmd.p1, cmd.p2))
    return _OPERATION.get(cmd.ins)


_HANDLERS = {
    0xA4: CpsApplication._select,
    0xB0: CpsApplication._read_binary,
    0xCB: CpsApplication._get_data,
    0x20: CpsApplication._verify,
    0x2C: CpsApplication._reset_retry_counter,
    0x22: CpsApplication._mse,
    0x2A: CpsApplication._pso,
    0x88: CpsApplication._internal_authenticate,
    0x84: CpsApplication._get_challenge,
}

_OPERATION = {0xB0: "read", 0x20: "verify", 0x2C: "verify", 0x88: "internal_authenticate"}
