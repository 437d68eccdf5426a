"""XML-DSig enveloped signatures (exclusive C14N) with the key kept in the token.

signxml does the canonicalisation and references; it signs through our token-backed key
object. It refuses SHA-1 by default; ANS samples of VIHF still use RSA-SHA1, so SHA-1 is
allowed here only when the caller asks for it by name.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from provisioning.errors import ProvisioningError, SlotEmptyError
from provisioning.slots import Slot
from provisioning.store import Store
from provisioning.tokenkey import TokenRSAKey

EXC_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
ALGORITHMS: dict[str, tuple[SignatureMethod, DigestAlgorithm]] = {
    "rsa-sha256": (SignatureMethod.RSA_SHA256, DigestAlgorithm.SHA256),
    "rsa-sha1": (SignatureMethod.RSA_SHA1, DigestAlgorithm.SHA1),
}
DS_NS = "http://www.w3.org/2000/09/xmldsig#"


class _Signer(XMLSigner):
    def check_deprecated_methods(self) -> None:
        # SHA-1 is a deliberate, named choice of the caller (see module docstring).
        return None


def _signer(algorithm: str) -> XMLSigner:
    if algorithm not in ALGORITHMS:
        raise ProvisioningError(
            f"unknown XML signature algorithm {algorithm!r} (one of: {', '.join(ALGORITHMS)})"
        )
    sig, digest = ALGORITHMS[algorithm]
    return _Signer(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=sig,
        digest_algorithm=digest,
        c14n_algorithm=EXC_C14N,
    )


def parse(xml: bytes) -> Any:
    # No network, no entities: input comes from LAN clients.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    try:
        return etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise ProvisioningError(f"not well-formed XML: {exc}") from None


def sign_element(
    store: Store,
    slot: Slot,
    root: Any,
    algorithm: str = "rsa-sha256",
    reference_uri: str | None = None,
) -> Any:
    """Signs ``root``, replacing its ``ds:Signature Id="placeholder"`` child if it has one."""
    cert = store.certificate(slot)
    if cert is None:
        raise SlotEmptyError(f"slot {slot.value} has no certificate to put in KeyInfo")
    return sign_with_key(root, store.private_key(slot), [cert], algorithm, reference_uri)


def sign_with_key(
    root: Any,
    key: TokenRSAKey,
    chain: list[x509.Certificate],
    algorithm: str = "rsa-sha256",
    reference_uri: str | None = None,
) -> Any:
    """The same enveloped signature with any token-backed key (an ORG slot, or the CPS
    signature key reached through the shared-CPS queue); ``chain`` goes into KeyInfo."""
    return _signer(algorithm).sign(
        root,
        key=key,
        cert=chain,
        reference_uri=reference_uri,
        id_attribute="ID" if reference_uri else None,
    )


def sign_enveloped(store: Store, slot: Slot, xml: bytes, algorithm: str = "rsa-sha256") -> bytes:
    """The document with an enveloped signature over the whole of it (``URI=""``)."""
    signed = sign_element(store, slot, parse(xml), algorithm)
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def verify(
    xml: bytes, cert_pem: bytes, algorithm: str = "rsa-sha256", id_attribute: str | None = None
) -> Any:
    """In-process verification (signxml); returns the signed element. Raises on failure."""
    sig, digest = ALGORITHMS[algorithm]
    config = SignatureConfiguration(
        signature_methods=frozenset({sig}), digest_algorithms=frozenset({digest})
    )
    result = XMLVerifier().verify(
        xml, x509_cert=cert_pem.decode(), expect_config=config, id_attribute=id_attribute
    )
    return result.signed_xml  # type: ignore[union-attr]
