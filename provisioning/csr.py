"""Certificate signing requests for IGC-Santé certificats logiciels, signed inside the token.

IGC-Santé rewrites most of the subject from its own registry of the structure; what it takes
from the request is the key and the common name, so we build a plain subject
(C=FR, [ST], [L], O=structure name, OU=structure identifier, CN) and check the rules that make
a certificate useless later: INSi rejects an AUTH_CLI certificate whose CN is not INSI-AUTO or
INSI-MANU (error DESIR_560); a server certificate needs its host name.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from provisioning.errors import ProvisioningError
from provisioning.kinds import INSI_COMMON_NAMES, KINDS, requested_key_usage
from provisioning.slots import SPECS, Slot
from provisioning.store import Store

_STRUCTURE_ID = re.compile(r"^[0-9A-Za-z]{1,20}$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


class CsrError(ProvisioningError):
    """The requested subject would not give a usable IGC-Santé certificate."""


@dataclass(frozen=True)
class CsrSubject:
    common_name: str
    organization: str
    # Identifiant national de structure as IGC-Santé writes it: a type digit and the number
    # (e.g. "3" + FINESS for an officine).
    structure_id: str
    locality: str | None = None
    state: str | None = None
    # Set when an AUTH_CLI certificate is deliberately not meant for INSi.
    not_for_insi: bool = False

    def name(self) -> x509.Name:
        attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]
        if self.state:
            attrs.append(x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, self.state))
        if self.locality:
            attrs.append(x509.NameAttribute(NameOID.LOCALITY_NAME, self.locality))
        attrs += [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organization),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, self.structure_id),
            x509.NameAttribute(NameOID.COMMON_NAME, self.common_name),
        ]
        return x509.Name(attrs)


def check_subject(slot: Slot, subject: CsrSubject) -> list[str]:
    """Raises on a subject IGC-Santé or the service would reject; returns soft warnings."""
    spec = SPECS[slot]
    if not spec.igc_sante:
        raise CsrError(f"slot {slot.value} is certified by the box itself, not by IGC-Santé")
    for label, value in (
        ("common name", subject.common_name),
        ("organization", subject.organization),
    ):
        if not value.strip() or len(value) > 64:
            raise CsrError(f"{label} must be 1 to 64 characters")
    if not _STRUCTURE_ID.match(subject.structure_id):
        raise CsrError("structure id must be 1 to 20 letters or digits (e.g. 3 + FINESS)")
    warnings = []
    if slot is Slot.ORG_AUTH_CLI and subject.common_name not in INSI_COMMON_NAMES:
        if not subject.not_for_insi:
            raise CsrError(
                "INSi refuses AUTH_CLI certificates whose CN is not "
                f"{' or '.join(INSI_COMMON_NAMES)}"
                " (DESIR_560); use one of them, or --not-for-insi if this certificate is for"
                " another service"
            )
        warnings.append("this AUTH_CLI certificate will not be accepted by INSi")
    if slot is Slot.SERV_SSL and not _HOSTNAME.match(subject.common_name):
        raise CsrError("a server certificate's CN must be the server's fully qualified host name")
    return warnings


def build_csr(store: Store, slot: Slot, subject: CsrSubject) -> tuple[bytes, list[str]]:
    """PEM CSR for the slot's pending key if a renewal is under way, else its active key."""
    warnings = check_subject(slot, subject)
    key = store.private_key(slot, pending=store.has_pending(slot))
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject.name())
    # Ask for the usages of the kind (PKCS#9 extensionRequest), so the request says what it
    # is for: IGC-Santé's profile decides, but a mismatch shows before the order, and the
    # training authority issues the right profile from it.
    builder = builder.add_extension(requested_key_usage(slot), critical=True)
    ekus = KINDS[slot].extended_key_usage
    if ekus:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(ekus)), critical=False)
    if slot is Slot.SERV_SSL:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject.common_name)]), critical=False
        )
    csr = builder.sign(key, hashes.SHA256())
    store.remember_csr_subject(slot, json.dumps(asdict(subject)))
    store.db.event(slot.value, "csr", subject.name().rfc4514_string())
    return csr.public_bytes(serialization.Encoding.PEM), warnings


def last_subject(store: Store, slot: Slot) -> CsrSubject | None:
    """The subject of the slot's previous request, reused by ``renew``."""
    saved = store.csr_subject(slot)
    return CsrSubject(**json.loads(saved)) if saved else None
