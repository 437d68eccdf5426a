"""DER contents of the PKCS#15 (ISO/IEC 7816-15) files of the simulated CPS application.

Structures per PKCS #15 v1.1 (RSA Laboratories) ASN.1: EF.ODF lists the directory files;
EF.TokenInfo names the token; EF.AODF holds the PIN object; EF.PrKDF the two private RSA keys
(key references 0x81 signature, 0x82 authentication); EF.CDF the two certificates. Paths are
two-byte FIDs, relative to the application DF as PKCS#15 allows, so a reader that selected the
application by AID finds every file. Built with the project's BER-TLV codec (DER is its subset).
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers import tlv

T = tlv.Tlv

SEQ, OCTETS, UTF8, INT, BITS, ENUM = 0x30, 0x04, 0x0C, 0x02, 0x03, 0x0A


def _int(value: int) -> T:
    length = max(1, (value.bit_length() + 8) // 8)  # room for the sign bit
    return T(INT, value.to_bytes(length, "big"))


def _bits(*positions: int) -> T:
    """BIT STRING with the named bits (bit 0 = most significant bit of the first byte), DER
    minimal: trailing zero bits are dropped and counted as unused."""
    if not positions:
        return T(BITS, b"\x00")
    nbytes = max(positions) // 8 + 1
    raw = bytearray(nbytes)
    for p in positions:
        raw[p // 8] |= 0x80 >> (p % 8)
    unused = 7 - max(positions) % 8
    return T(BITS, bytes((unused,)) + bytes(raw))


def _path(fid: int | bytes) -> T:
    raw = fid if isinstance(fid, bytes) else fid.to_bytes(2, "big")
    return T(SEQ, children=(T(OCTETS, raw),))


def _label(text: str) -> T:
    return T(UTF8, text.encode("utf-8"))


# PKCS#15 flag bit numbers.
OBJ_PRIVATE, OBJ_MODIFIABLE = 0, 1
PIN_LOCAL, PIN_INITIALIZED = 1, 4
USAGE_DECRYPT, USAGE_SIGN, USAGE_NON_REPUDIATION = 1, 2, 9
ACCESS_SENSITIVE, ACCESS_ALWAYS_SENSITIVE, ACCESS_NEVER_EXTRACTABLE, ACCESS_LOCAL = 0, 2, 3, 4
PIN_TYPE_ASCII_NUMERIC = 1
TOKEN_READONLY = 0


@dataclass(frozen=True)
class KeyEntry:
    label: str
    key_id: bytes
    key_ref: int
    cert_fid: int
    cert_label: str
    usage: tuple[int, ...]
    alg_refs: tuple[int, ...] = ()
    """References into TokenInfo.supportedAlgorithms usable with this key."""


@dataclass(frozen=True)
class Algorithm:
    """One TokenInfo AlgorithmInfo: PKCS#15 reference, PKCS#11 mechanism, operations, and
    the card's own algorithm identifier (algRef) that a host puts in MSE SET tag 80."""

    reference: int
    mechanism: int
    operations: tuple[int, ...]
    card_ref: int


CKM_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA256 = 0x0001, 0x0040, 0x0250
OP_COMPUTE_SIGNATURE, OP_DECIPHER, OP_HASH = 1, 5, 6

ALGORITHMS = (
    # IAS-ECC style identifiers: 02 RSA PKCS#1 (raw, for INTERNAL AUTHENTICATE), 0A RSA
    # PKCS#1 decipher, 40 SHA-256 (hash template), 42 RSA PKCS#1 with SHA-256.
    Algorithm(1, CKM_RSA_PKCS, (OP_COMPUTE_SIGNATURE,), 0x02),
    Algorithm(2, CKM_RSA_PKCS, (OP_DECIPHER,), 0x0A),
    Algorithm(3, CKM_SHA256, (OP_HASH,), 0x40),
    Algorithm(4, CKM_SHA256_RSA_PKCS, (OP_COMPUTE_SIGNATURE,), 0x42),
)


def odf(prkdf: int, cdf: int, aodf: int) -> bytes:
    return tlv.encode(
        [
            T(0xA0, children=(_path(prkdf),)),  # privateKeys
            T(0xA4, children=(_path(cdf),)),  # certificates
            T(0xA8, children=(_path(aodf),)),  # authObjects
        ]
    )


def token_info(serial_hex: str, manufacturer: str, label: str) -> bytes:
    return T(
        SEQ,
        children=(
            _int(0),
            T(OCTETS, bytes.fromhex(serial_hex)),
            _label(manufacturer),
            T(0x80, label.encode("utf-8")),
            _bits(TOKEN_READONLY),
            T(0xA2, children=tuple(_algorithm_info(a) for a in ALGORITHMS)),
        ),
    ).encode()


def _algorithm_info(a: Algorithm) -> T:
    """AlgorithmInfo ::= SEQUENCE { reference, algorithm, parameters (NULL),
    supportedOperations, objId OPTIONAL, algRef OPTIONAL } (PKCS#15 v1.1 §6.10)."""
    return T(
        SEQ,
        children=(_int(a.reference), _int(a.mechanism), T(0x05), _bits(*a.operations),
                  _int(a.card_ref)),
    )  # fmt: skip


def aodf(pin_label: str, auth_id: bytes, pin_ref: int, min_len: int, max_len: int) -> bytes:
    common = T(SEQ, children=(_label(pin_label), _bits(OBJ_PRIVATE, OBJ_MODIFIABLE)))
    auth_attrs = T(SEQ, children=(T(OCTETS, auth_id),))
    pin_attrs = T(
        SEQ,
        children=(
            _bits(PIN_LOCAL, PIN_INITIALIZED),
            T(ENUM, bytes((PIN_TYPE_ASCII_NUMERIC,))),
            _int(min_len),
            _int(max_len),  # storedLength: the PIN is sent unpadded
            _int(max_len),
            T(0x80, bytes((pin_ref,))),  # pinReference [0]
        ),
    )
    return T(SEQ, children=(common, auth_attrs, T(0xA1, children=(pin_attrs,)))).encode()


def prkdf(keys: list[KeyEntry], auth_id: bytes, modulus_bits: int, key_df_path: bytes) -> bytes:
    out = []
    for k in keys:
        common = T(SEQ, children=(_label(k.label), _bits(OBJ_PRIVATE), T(OCTETS, auth_id)))
        key_attrs = T(
            SEQ,
            children=(
                T(OCTETS, k.key_id),
                _bits(*k.usage),
                _bits(
                    ACCESS_SENSITIVE,
                    ACCESS_ALWAYS_SENSITIVE,
                    ACCESS_NEVER_EXTRACTABLE,
                    ACCESS_LOCAL,
                ),
                _int(k.key_ref),
                # algReference [1] SEQUENCE OF Reference: what OpenSC offers to MSE SET.
                T(0xA1, children=tuple(_int(r) for r in k.alg_refs)),
            ),
        )
        # The private key is an IAS-ECC SDO addressed by its reference, not a file: its
        # "value" path is the DF holding it (absolute), which a host selects before MSE SET.
        rsa_attrs = T(SEQ, children=(_path(key_df_path), _int(modulus_bits)))
        out.append(T(SEQ, children=(common, key_attrs, T(0xA1, children=(rsa_attrs,)))))
    return tlv.encode(out)


def cdf(keys: list[KeyEntry]) -> bytes:
    out = []
    for k in keys:
        common = T(SEQ, children=(_label(k.cert_label),))
        cert_attrs = T(SEQ, children=(T(OCTETS, k.key_id),))
        x509_attrs = T(SEQ, children=(_path(k.cert_fid),))
        out.append(T(SEQ, children=(common, cert_attrs, T(0xA1, children=(x509_attrs,)))))
    return tlv.encode(out)


def ef_dir(aid: bytes, label: str) -> bytes:
    """EF.DIR application template (ISO 7816-4 §8.2.1.1): 61 { 4F AID, 50 label }."""
    return T(0x61, children=(T(0x4F, aid), T(0x50, label.encode("ascii")))).encode()


def ef_atr(max_send: int = 0xFF, max_recv: int = 0x100) -> bytes:
    """EF.ATR/INFO as IAS-ECC defines it: card service (43), pre-issuing data (46, four bytes:
    IC maker, IC type, OS version, IAS-ECC version), card capabilities (47) and the IAS-ECC
    I/O buffer sizes (E0: four DO'02' integers, plain send, SM send, plain receive, SM
    receive). OpenSC reads these to size its APDUs."""
    sizes = tuple(T(0x02, n.to_bytes(2, "big")) for n in (max_send, max_send, max_recv, max_recv))
    return tlv.encode(
        [
            T(0x43, b"\xb8"),
            T(0x46, bytes.fromhex("00001010")),
            T(0x47, bytes.fromhex("940140")),  # extended length supported
            T(0xE0, children=sizes),
        ]
    )
