"""Card file → simulated card → driver: every field a pharmacist sees arrives as written.

The expected values come from the raw TOML (read here with tomllib), not from the card-file
parser, so a parser bug cannot hide behind a symmetric driver bug.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from drivers.cards.vitale import VitaleCard
from drivers.cards.vitale_model import VitaleRead
from drivers.sim.timing import Timing
from drivers.sim.vitale_app import VitaleApplication
from drivers.sim.vitale_config import load_vitale_file
from tests.card_support import CARDS_DIR, VITALE_SAMPLES, DirectTransport


def _read(path: Path) -> tuple[VitaleRead, DirectTransport]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    app = VitaleApplication.from_config(raw, Timing.zero())
    transport = DirectTransport(app)
    return VitaleCard(transport).read(), transport


def _compact(text: str) -> str:
    return "".join(text.split()).upper()


def test_sample_set_is_complete() -> None:
    names = {p.stem for p in VITALE_SAMPLES}
    assert {
        "vitale-famille-martin",
        "vitale-corse-2a",
        "vitale-corse-2b",
        "vitale-lunaire",
        "vitale-droits-expires",
        "vitale-nir-cle-fausse",
    } <= names


@pytest.mark.parametrize("path", VITALE_SAMPLES, ids=lambda p: p.stem)
def test_every_field_round_trips(path: Path) -> None:
    raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    read, _ = _read(path)

    assert read.card.card_type == raw["card"]["type"]
    assert read.card.serial == raw["card"]["serial"]
    assert read.card.valid_from == raw["card"]["valid_from"]

    insured = raw["insured"]
    assert read.insured.nir.text == _compact(insured["nir"])
    scheme = read.insured.scheme
    assert (scheme.regime, scheme.caisse, scheme.centre, scheme.gestion) == (
        insured["scheme"]["regime"],
        insured["scheme"]["caisse"],
        insured["scheme"]["centre"],
        insured["scheme"]["gestion"],
    )
    assert [(p.start, p.end) for p in read.insured.rights] == [
        (r["start"], r.get("end")) for r in insured.get("rights", [])
    ]
    assert [(e.code, e.start, e.end) for e in read.insured.exemptions] == [
        (e["code"], e["start"], e.get("end")) for e in insured.get("exemptions", [])
    ]

    assert len(read.beneficiaries) == len(raw["beneficiaries"])
    for got, want in zip(read.beneficiaries, raw["beneficiaries"], strict=True):
        assert got.nom_usuel == want["nom_usuel"]
        assert got.nom_naissance == want.get("nom_naissance")
        assert got.prenom == want["prenom"]
        assert got.birth_date.text == want["birth_date"].replace("-", "")
        assert got.rang == want.get("rang", 1)
        assert got.qualite == want["qualite"]
        assert got.rights_end == want.get("rights_end")
        if "nir" in want:
            assert got.nir is not None and got.nir.text == _compact(want["nir"])
        else:
            assert got.nir is None

    assert [(c.organisme, c.name, c.adherent, c.start, c.end) for c in read.amc] == [
        (c["organisme"], c["name"], c.get("adherent"), c["start"], c.get("end"))
        for c in raw.get("amc", [])
    ]
    # And the parser agrees with the card: the whole value is what the file describes.
    assert read == load_vitale_file(path).content


def test_family_twins_and_accents() -> None:
    read, transport = _read(CARDS_DIR / "vitale-famille-martin.toml")
    mother, father, first, second = read.beneficiaries
    assert (mother.prenom, mother.nom_naissance, father.prenom) == ("Bénédicte", "LEFÈVRE", "Joël")
    assert (first.prenom, second.prenom) == ("Éloïse", "Noël")
    assert first.birth_date == second.birth_date
    assert (first.rang, second.rang) == (1, 2)
    assert first.birth_date.iso() == "2015-06-12"
    assert [b.qualite_label for b in read.beneficiaries] == [
        "assuré",
        "conjoint",
        "enfant",
        "enfant",
    ]
    assert read.amc[0].name == "Mutuelle des Tilleuls"
    assert read.nir_problems == ()
    # The beneficiaries file is longer than one short APDU can return: two READ BINARY,
    # the second at offset 256.
    reads = [a for a in transport.sent if a[1] == 0xB0]
    assert any(a[2:4] == b"\x01\x00" for a in reads)


def test_lunar_birth_dates_kept_as_read() -> None:
    read, _ = _read(CARDS_DIR / "vitale-lunaire.toml")
    day_unknown, month_unknown = (b.birth_date for b in read.beneficiaries)
    assert day_unknown.text == "19620300"
    assert (day_unknown.year, day_unknown.month, day_unknown.day) == (1962, 3, None)
    assert day_unknown.lunar and day_unknown.iso() is None
    assert str(day_unknown) == "00/03/1962"
    assert month_unknown.text == "19580000"
    assert (month_unknown.month, month_unknown.day) == (None, None)
    assert month_unknown.iso() is None
    spouse_nir = read.beneficiaries[1].nir
    assert spouse_nir is not None and spouse_nir.nir is not None
    assert spouse_nir.nir.birth_month == "99"


@pytest.mark.parametrize(("name", "department"), [("corse-2a", "2A"), ("corse-2b", "2B")])
def test_corsica_nir_valid(name: str, department: str) -> None:
    read, _ = _read(CARDS_DIR / f"vitale-{name}.toml")
    check = read.insured.nir
    assert check.valid and check.nir is not None
    assert check.nir.department == department and check.nir.corsica


def test_expired_rights_still_read() -> None:
    read, _ = _read(CARDS_DIR / "vitale-droits-expires.toml")
    assert not read.insured.rights_on(dt.date(2026, 11, 25))
    assert read.insured.rights_on(dt.date(2023, 6, 1))
    assert read.insured.rights_on(dt.date(2021, 1, 1))
    assert not read.insured.rights_on(dt.date(2024, 1, 1))
    assert read.card.card_type == "V1"


def test_open_ended_rights_cover_today() -> None:
    read, _ = _read(CARDS_DIR / "vitale-corse-2a.toml")
    assert read.insured.rights[0].end is None
    assert read.insured.rights_on(dt.date(2030, 1, 1))
    assert read.insured.exemptions[0].end is None


def test_bad_nir_key_reported_not_raised() -> None:
    read, _ = _read(CARDS_DIR / "vitale-nir-cle-fausse.toml")
    assert not read.insured.nir.valid
    assert read.insured.nir.text == "291093306314513"
    assert read.beneficiaries[0].prenom == "Anaïs"
    assert read.nir_problems == (
        "insured: NIR key 13 does not match the number (expected 31)",
        "beneficiary 1: NIR key 13 does not match the number (expected 31)",
    )


def test_json_form_keeps_what_was_read() -> None:
    lunar, _ = _read(CARDS_DIR / "vitale-lunaire.toml")
    family, _ = _read(CARDS_DIR / "vitale-famille-martin.toml")
    bad, _ = _read(CARDS_DIR / "vitale-nir-cle-fausse.toml")
    out = json.loads(json.dumps(lunar.to_dict()))
    assert out["beneficiaries"][0]["birth_date"] == {
        "text": "19620300",
        "iso": None,
        "lunar": True,
    }
    assert out["insured"]["rights"] == [{"start": "2025-01-01", "end": "2026-12-31"}]
    out = json.loads(json.dumps(family.to_dict(), ensure_ascii=False))
    assert [b["prenom"] for b in out["beneficiaries"]][2:] == ["Éloïse", "Noël"]
    assert out["beneficiaries"][3]["birth_date"]["iso"] == "2015-06-12"
    assert out["beneficiaries"][3]["qualite_label"] == "enfant"
    assert out["amc"][0]["end"] == "2026-12-31"
    out = bad.to_dict()
    assert out["insured"]["nir"]["valid"] is False
    assert out["nir_problems"][0].startswith("insured: NIR key 13")
