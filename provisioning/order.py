"""The first visit in one step: a key and a CSR for every ORG slot the officine needs, written
as files and QR codes, with the list of what to order from IGC-Santé.

Certificates take days to come back, so a technician's visit splits in two: ``prepare`` now,
``import FILE…`` later (:func:`place_certificates`: each certificate goes to the slot of its key,
whatever the order or grouping of the files).

Common names (IGC-Santé takes the CN from the request and the rest of the subject from its
registry of the structure):

- ORG AUTH_CLI: ``INSI-AUTO`` (default) or ``INSI-MANU``; INSi refuses any other CN
  (DESIR_560). INSI-AUTO when the box queries INSi on its own as a Vitale card is read,
  INSI-MANU when a person starts each query.
- ORG SIGN and ORG CONF: the structure's name (raison sociale): the SIGN certificate's subject
  is the VIHF ``Issuer``, which names the structure that vouches for the assertion.

These CN choices for SIGN/CONF are ours (DOMAIN.md constrains only AUTH_CLI); they were not
checked against IGC-Santé's order forms, which cannot be reached from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from provisioning import certs, csr
from provisioning.certs import ChainState
from provisioning.errors import CertificateError, ProvisioningError
from provisioning.kinds import EKU_NAMES, INSI_COMMON_NAMES, KINDS
from provisioning.paths import write_public_file
from provisioning.slots import Slot
from provisioning.store import SlotStatus, Store

ORG_SLOTS = (Slot.ORG_AUTH_CLI, Slot.ORG_SIGN, Slot.ORG_CONF)
IGC_KIND = {
    Slot.ORG_AUTH_CLI: "ORG AUTH_CLI",
    Slot.ORG_SIGN: "ORG SIGN",
    Slot.ORG_CONF: "ORG CONF",
    Slot.SERV_SSL: "SERV SSL_SERV",
}


@dataclass(frozen=True)
class Prepared:
    slot: Slot
    kind: str
    common_name: str
    usages: str
    csr_file: Path | None
    qr_file: Path | None
    # "ordered" (a CSR was written), or why nothing is to order ("already certified").
    state: str


def _usages(slot: Slot) -> str:
    kind = KINDS[slot]
    names = [u.replace("_", " ") for u in kind.key_usage_any_of]
    ekus = [EKU_NAMES[e] for e in kind.extended_key_usage]
    return ", ".join(names + ekus)


def prepare(
    store: Store,
    out_dir: Path,
    *,
    organization: str,
    structure_id: str,
    insi_cn: str = "INSI-AUTO",
    locality: str | None = None,
    state: str | None = None,
    slots: tuple[Slot, ...] = ORG_SLOTS,
) -> list[Prepared]:
    """Keys (generated in the token when missing) and CSRs for ``slots``.

    A slot whose certificate is already imported and valid is left alone; a slot with a key
    but no certificate gets a CSR for that same key (running ``prepare`` twice re-writes the
    same requests instead of making new keys)."""
    import segno  # here, not at the top: the daemon imports this module but never draws a QR

    if insi_cn not in INSI_COMMON_NAMES:
        raise csr.CsrError(f"--insi-cn must be {' or '.join(INSI_COMMON_NAMES)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    done: list[Prepared] = []
    for slot in slots:
        cn = insi_cn if slot is Slot.ORG_AUTH_CLI else organization
        kind, usages = IGC_KIND[slot], _usages(slot)
        status = store.slot_status(slot)
        if status.chain_state is ChainState.VALID and not status.renewal_pending:
            done.append(Prepared(slot, kind, cn, usages, None, None, "already certified"))
            continue
        subject = csr.CsrSubject(
            common_name=cn, organization=organization, structure_id=structure_id,
            locality=locality, state=state,
        )  # fmt: skip
        csr.check_subject(slot, subject)
        if not status.has_key:
            store.keygen(slot)
        pem, _ = csr.build_csr(store, slot, subject)
        csr_file = out_dir / f"{slot.value}.csr.pem"
        qr_file = out_dir / f"{slot.value}.csr.png"
        write_public_file(csr_file, pem)
        segno.make(pem.decode(), error="L").save(str(qr_file), scale=4)
        done.append(Prepared(slot, kind, cn, usages, csr_file, qr_file, "to order"))
    write_public_file(out_dir / "ORDER.txt", order_text(done, organization, structure_id).encode())
    return done


def order_text(prepared: list[Prepared], organization: str, structure_id: str) -> str:
    lines = [
        f"Certificates to order from IGC-Santé for {organization} (structure {structure_id})",
        "Certificats logiciels de personne morale (ORG), from a CSR; valid three years.",
        "",
    ]
    for p in prepared:
        if p.csr_file is None:
            lines.append(f"- {p.kind} ({p.slot.value}): {p.state}, nothing to order")
            continue
        lines.append(
            f"- {p.kind} ({p.slot.value}): CN={p.common_name}, usages {p.usages};"
            f" send {p.csr_file.name} (QR code: {p.qr_file.name if p.qr_file else '-'})"
        )
    lines += [
        "",
        "When the certificates come back, on the box:",
        "  comptoir provision trust add IGC-SANTE-ROOT.pem     # once, if not trusted yet",
        "  comptoir provision import FILE…                     # any order; each to its slot",
        "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Placed:
    file: Path
    slot: Slot | None
    status: SlotStatus | None
    error: str | None


def place_certificates(store: Store, files: list[Path]) -> list[Placed]:
    """Imports every end-entity certificate found in ``files`` into the slot of its key.

    CA certificates found in any of the files (intermediates, sent separately or bundled)
    serve every chain. A PKCS#12 file needs a slot and a password: ``import SLOT FILE``."""
    leaves: list[tuple[Path, x509.Certificate]] = []
    cas: list[x509.Certificate] = []
    results: list[Placed] = []
    for f in files:
        data = f.read_bytes()
        if certs.is_pkcs12(data):
            results.append(Placed(f, None, None, "a PKCS#12 file goes to a named slot:"
                                  f" `comptoir provision import SLOT {f}`"))  # fmt: skip
            continue
        try:
            found = certs.load_certificates(data)
        except CertificateError as exc:
            results.append(Placed(f, None, None, str(exc)))
            continue
        for cert in found:
            (cas.append(cert) if certs.is_ca(cert) else leaves.append((f, cert)))
    ca_pem = certs.to_pem(cas).encode()
    for f, leaf in leaves:
        slot = store.slot_for_key(leaf)
        if slot is None:
            results.append(Placed(f, None, None, (
                f"{leaf.subject.rfc4514_string()} matches none of the box's keys: it was"
                " issued for another request (or another box)")))  # fmt: skip
            continue
        try:
            status = store.import_certificate(slot, certs.to_pem([leaf]).encode() + ca_pem)
        except ProvisioningError as exc:
            results.append(Placed(f, slot, None, str(exc)))
            continue
        results.append(Placed(f, slot, status, None))
    if not leaves and not results:
        raise CertificateError("no certificate in the files given")
    return results
