"""A cryptography ``RSAPrivateKey`` whose private operations run on the PKCS#11 token.

cryptography's X.509 builders and signxml only call ``key.sign(data, padding, algorithm)`` and
``key.public_key()``; handing them this object lets them sign certificates, CSRs and XML while
the key never leaves the token (no PEM, no private numbers: those raise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding as apadding
from cryptography.hazmat.primitives.asymmetric import rsa, utils
from pkcs11 import Mechanism

from provisioning.errors import StoreError

# RFC 8017 §9.2 note 1: DER of DigestInfo up to the digest bytes, for CKM_RSA_PKCS over a
# digest computed elsewhere.
DIGEST_INFO_PREFIX: dict[str, bytes] = {
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
DIGEST_SIZES = {"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}

HASH_MECHANISMS: dict[str, Mechanism] = {
    "sha1": Mechanism.SHA1_RSA_PKCS,
    "sha256": Mechanism.SHA256_RSA_PKCS,
    "sha384": Mechanism.SHA384_RSA_PKCS,
    "sha512": Mechanism.SHA512_RSA_PKCS,
}


def digest_info(digest: bytes, hash_alg: str) -> bytes:
    prefix = DIGEST_INFO_PREFIX.get(hash_alg)
    if prefix is None:
        raise StoreError(f"unsupported hash algorithm {hash_alg!r} (sha1, sha256, sha384, sha512)")
    if len(digest) != DIGEST_SIZES[hash_alg]:
        raise StoreError(
            f"a {hash_alg} digest is {DIGEST_SIZES[hash_alg]} bytes, got {len(digest)}"
        )
    return prefix + digest


# (data, hash name, prehashed) -> signature; the store supplies it bound to one slot.
SignFunction = Callable[[bytes, str, bool], bytes]


class TokenRSAKey(rsa.RSAPrivateKey):
    """RSA PKCS#1 v1.5 signing through the token; everything that would expose the key raises."""

    def __init__(self, public: rsa.RSAPublicKey, sign_fn: SignFunction) -> None:
        self._public = public
        self._sign_fn = sign_fn

    def sign(
        self,
        data: bytes,
        padding: apadding.AsymmetricPadding,
        algorithm: utils.Prehashed | hashes.HashAlgorithm | utils.NoDigestInfo,
    ) -> bytes:
        if not isinstance(padding, apadding.PKCS1v15):
            raise StoreError(f"the token key signs with PKCS#1 v1.5 only, not {padding.name}")
        if isinstance(algorithm, utils.NoDigestInfo):
            raise StoreError("signing without DigestInfo is not offered")
        if isinstance(algorithm, utils.Prehashed):
            return self._sign_fn(bytes(data), algorithm._algorithm.name, True)
        return self._sign_fn(bytes(data), algorithm.name, False)

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def decrypt(self, ciphertext: bytes, padding: apadding.AsymmetricPadding) -> bytes:
        raise StoreError("decryption through the store is not offered")

    def private_numbers(self) -> NoReturn:
        raise StoreError("the private key stays in the token")

    def private_bytes(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise StoreError("the private key stays in the token")

    def __copy__(self) -> TokenRSAKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> TokenRSAKey:
        return self

    def public_pem(self) -> bytes:
        return self._public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
