"""The card-layer part of the demo: what a technician shows on a freshly installed box.

It goes through the production path (pyscard → pcscd → reader driver → card); only the reader
driver (vpcd) and the cards are simulated. Printed for a person: names, situations, rights —
never the PIN.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from rich.console import Console
from rich.table import Table

from drivers.cards.cps import CpsCard
from drivers.cards.cps_model import KeyRole
from drivers.cards.vitale import VitaleCard
from drivers.cards.vitale_model import VitaleRead
from drivers.pcsc import PcscConnection, list_readers, wait_for_card
from drivers.sim.make_sample_cards import CARDS_DIR

DEMO_CPS = CARDS_DIR / "cps-titulaire-lefevre.toml"
DEMO_VITALE = CARDS_DIR / "vitale-famille-martin.toml"
DEMO_PIN = b"1234"  # the sample card's PIN, typed here as the pharmacist would on a pad
CARD_WAIT_S = 5.0


def show_readers(console: Console) -> list[str]:
    readers = list_readers()
    table = Table(title="Readers seen by pcscd")
    table.add_column("reader")
    for name in readers:
        table.add_row(name)
    console.print(table)
    return readers


def show_cps(console: Console, reader: str) -> None:
    with PcscConnection(reader, exclusive=True) as conn:
        card = CpsCard(conn)
        ident = card.identity()
        console.print(
            f"[bold]CPS[/] in {reader!r}: {ident.civilite} {ident.prenom} {ident.nom}, "
            f"{ident.profession}, RPPS {ident.rpps}, card {ident.card_serial}"
        )
        console.print(f"  PIN tries left: {card.tries_left()}")
        pin = bytearray(DEMO_PIN)
        try:
            card.verify_pin(pin, from_person=True)
        finally:
            pin[:] = b"\x00" * len(pin)
        console.print("  PIN verified on the card (the PIN itself is never printed or kept)")
        for sit in card.holder().situations:
            ids = ", ".join(
                f"{k} {v}" for k, v in (("FINESS", sit.finess), ("SIRET", sit.siret)) if v
            )
            console.print(f"  situation {sit.number}: {sit.role} — {sit.structure_name} ({ids})")
        document = f"Feuille de soins démo {dt.datetime.now(dt.UTC).isoformat()}".encode()
        for role in (KeyRole.SIGN, KeyRole.AUTH):
            signature = card.sign_data(role, document)
            cert = x509.load_der_x509_certificate(card.certificate(role))
            public = cert.public_key()
            assert isinstance(public, rsa.RSAPublicKey)
            public.verify(signature, document, padding.PKCS1v15(), hashes.SHA256())
            console.print(
                f"  signed with the {role.value} key: {len(signature)}-byte RSA signature, "
                f"verified against {cert.subject.rfc4514_string()}"
            )
        card.logout()
        console.print("  card reset: the PIN is needed again")


def show_vitale(console: Console, reader: str) -> VitaleRead:
    with PcscConnection(reader, exclusive=True) as conn:
        read = VitaleCard(conn).read()
    ins = read.insured
    console.print(
        f"[bold]Carte Vitale[/] in {reader!r}: serial {read.card.serial}, insured NIR "
        f"{ins.nir.text} ({'valid' if ins.nir.valid else ins.nir.problem}), "
        f"régime {ins.scheme.regime} caisse {ins.scheme.caisse}"
    )
    table = Table(title="Bénéficiaires")
    for col in ("nom", "prénom", "né(e) le", "rang", "qualité", "NIR"):
        table.add_column(col)
    for b in read.beneficiaries:
        nir = "" if b.nir is None else f"{b.nir.text} {'✓' if b.nir.valid else '✗'}"
        table.add_row(
            b.nom_usuel, b.prenom, str(b.birth_date), str(b.rang), b.qualite_label or b.qualite, nir
        )
    console.print(table)
    today = dt.date.today()
    console.print(f"  AMO rights on {today.isoformat()}: {'yes' if ins.rights_on(today) else 'no'}")
    for amc in read.amc:
        until = amc.end.isoformat() if amc.end else "open-ended"
        console.print(f"  AMC: {amc.name} (organisme {amc.organisme}), until {until}")
    return read


def run_card_demo(console: Console, cps_reader: str, vitale_reader: str) -> None:
    """Readers listed, the CPS unlocked and used to sign, the Vitale read."""
    console.rule("Card layer: pyscard → pcscd → vpcd → simulated cards")
    readers = show_readers(console)
    for name in (cps_reader, vitale_reader):
        if name not in readers or not wait_for_card(name, present=True, timeout=CARD_WAIT_S):
            raise RuntimeError(f"no card seen in {name!r}")
    show_cps(console, cps_reader)
    show_vitale(console, vitale_reader)
