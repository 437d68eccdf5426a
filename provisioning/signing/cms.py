"""CMS (PKCS#7) detached signatures, RFC 5652, the signer's key kept in the token.

The signature covers the DER of the signed attributes as a SET OF (RFC 5652 §5.4), which
must be in DER order: verifiers re-encode before checking, so an unsorted set never verifies.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from asn1crypto import algos, cms, core
from asn1crypto import x509 as a_x509
from cryptography.hazmat.primitives import serialization

from provisioning.errors import ProvisioningError, SlotEmptyError
from provisioning.slots import Slot
from provisioning.store import Store

HASHES = ("sha256", "sha384", "sha512")


def _signed_attributes(digest: bytes, when: datetime) -> cms.CMSAttributes:
    attrs = [
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": when})]}),
        cms.CMSAttribute({"type": "message_digest", "values": [digest]}),
    ]
    return cms.CMSAttributes(sorted(attrs, key=lambda a: a.dump()))


def sign_detached(
    store: Store, slot: Slot, data: bytes, hash_alg: str = "sha256", now: datetime | None = None
) -> bytes:
    """DER ``ContentInfo`` holding SignedData without the content, with the signer's chain."""
    if hash_alg not in HASHES:
        raise ProvisioningError(f"CMS hash must be one of {', '.join(HASHES)}")
    cert = store.certificate(slot)
    if cert is None:
        raise SlotEmptyError(f"slot {slot.value} has no certificate to sign with")
    der = cert.public_bytes(serialization.Encoding.DER)
    signer_cert = a_x509.Certificate.load(der)
    chain = [
        a_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
        for c in store.chain(slot)
    ]
    signed_attrs = _signed_attributes(hashlib.new(hash_alg, data).digest(), now or store.now())
    signature = store.sign(slot, signed_attrs.dump(), hash_alg)
    digest_algorithm = algos.DigestAlgorithm({"algorithm": hash_alg})
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": signer_cert.issuer, "serial_number": signer_cert.serial_number}
                    )
                }
            ),
            "digest_algorithm": digest_algorithm,
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"}),
            "signature": core.OctetString(signature),
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": {"content_type": "data"},
            "certificates": [signer_cert, *chain],
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump())
