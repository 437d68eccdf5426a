"""Raw RSA PKCS#1 v1.5 signatures from a slot, and their verification against a certificate."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from provisioning.slots import Slot
from provisioning.store import Store

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def sign(store: Store, slot: Slot, data: bytes, hash_alg: str = "sha256") -> bytes:
    return store.sign(slot, data, hash_alg)


def sign_digest(store: Store, slot: Slot, digest: bytes, hash_alg: str = "sha256") -> bytes:
    return store.sign_digest(slot, digest, hash_alg)


def verify(
    cert: x509.Certificate,
    signature: bytes,
    data: bytes,
    hash_alg: str = "sha256",
    prehashed: bool = False,
) -> bool:
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    algorithm = _HASHES[hash_alg]()
    try:
        key.verify(
            signature,
            data,
            padding.PKCS1v15(),
            utils.Prehashed(algorithm) if prehashed else algorithm,
        )
    except InvalidSignature:
        return False
    return True
