"""Regenerate the sample CPS card files in ``drivers/sim/cards/`` and their TEST PKI.

    .venv/bin/python -m drivers.sim.make_sample_cards [--new-pki]

The TEST PKI (root + PERSONNES + ORGANISATIONS, keys included) lives in
``drivers/sim/cards/test-pki/`` so every sample card chains to the same root and the
provisioning tests can issue ORG certificates from it. It is reused unless ``--new-pki`` is
given. Everything here is fictitious: people, RPPS numbers, pharmacies, keys.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from drivers.cards.cps_model import CpsHolder, Situation
from drivers.sim import testpki
from drivers.sim.cardfile import dump_cps
from drivers.sim.cps_issue import issue_cps

CARDS_DIR = Path(__file__).parent / "cards"
PKI_DIR = CARDS_DIR / "test-pki"

GARE = Situation(1, "Pharmacie de la Gare", "690012345", "81234567800017",
                 "Pharmacien titulaire d'officine")  # fmt: skip

SAMPLES: list[tuple[str, str, CpsHolder, int]] = [
    # (file, description, holder, PIN tries left)
    (
        "cps-titulaire-lefevre.toml",
        "Pharmacienne titulaire, deux situations d'exercice (officine + SELARL)",
        CpsHolder(
            card_serial="0000420001",
            civilite="Mme",
            nom="LEFÈVRE",
            prenom="Hélène",
            rpps="10009990001",
            profession="Pharmacien",
            specialty="Pharmacie d'officine",
            situations=(
                GARE,
                Situation(
                    2,
                    "SELARL Pharmacie des Écoles",
                    "690054321",
                    "81234567800025",
                    "Pharmacien associé d'exercice libéral",
                ),
            ),
        ),
        3,
    ),
    (
        "cps-adjoint-dalmeida.toml",
        "Pharmacien adjoint, nom composé avec accents et apostrophe",
        CpsHolder(
            card_serial="0000420002",
            civilite="M.",
            nom="D'ALMEIDA-CÔTÉ",
            prenom="Jérôme-François",
            rpps="10009990002",
            profession="Pharmacien",
            specialty=None,
            situations=(replace(GARE, role="Pharmacien adjoint d'officine"),),
        ),
        3,
    ),
    (
        "cps-un-essai.toml",
        "Pharmacienne adjointe dont la carte n'a plus qu'un essai de PIN",
        CpsHolder(
            card_serial="0000420003",
            civilite="Mme",
            nom="NGUYỄN",
            prenom="Anaïs",
            rpps="10009990003",
            profession="Pharmacien",
            specialty=None,
            situations=(replace(GARE, role="Pharmacien adjoint d'officine"),),
        ),
        1,
    ),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new-pki", action="store_true", help="make a fresh TEST PKI")
    args = parser.parse_args(argv)
    if args.new_pki or not (PKI_DIR / "root.crt.pem").exists():
        pki = testpki.TestPki.create()
        pki.save(PKI_DIR)
    else:
        pki = testpki.TestPki.load(PKI_DIR)
    for name, description, holder, tries in SAMPLES:
        cfg = replace(issue_cps(pki, holder), pin_tries_left=tries)
        (CARDS_DIR / name).write_text(dump_cps(cfg, description), encoding="utf-8")
        print(f"wrote {CARDS_DIR / name}")


if __name__ == "__main__":
    main()
