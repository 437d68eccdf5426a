"""Vitale card files: a mistake gives one line naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.sim.card_table import CardConfigError
from drivers.sim.timing import Timing
from drivers.sim.vitale_app import VitaleApplication
from drivers.sim.vitale_config import load_vitale_file, parse_card_config
from tests.card_support import CARDS_DIR

BASE = (CARDS_DIR / "vitale-corse-2b.toml").read_text(encoding="utf-8")

BENEFICIARY = """
[[beneficiaries]]
nom_usuel = "PAOLI"
prenom = "Lucia"
birth_date = "2001-01-01"
qualite = "06"
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('serial = "2300000268"\n', "", r"card\.serial: missing"),
        ('serial = "2300000268"', 'serial = "23-00"', r"card\.serial: must be 8 or .* digits"),
        (
            "valid_from = 2020-02-10",
            'valid_from = "2020-02-10"',
            r"card\.valid_from: must be a TOML date",
        ),
        ('type = "V2"', 'type = "V2"\ncolour = "green"', r"card\.colour: unknown field"),
        (
            'prenom = "Marie-Dominique"',
            'prenon = "Marie-Dominique"',
            r"beneficiaries #1\.prenon: unknown field",
        ),
        (
            'birth_date = "1968-07-19"',
            'birth_date = "19/07/1968"',
            r"beneficiaries #1\.birth_date: must be \"YYYY-MM-DD\"",
        ),
        (
            'birth_date = "1968-07-19"',
            'birth_date = "1968-13-19"',
            r"beneficiaries #1\.birth_date: month must be 00-12",
        ),
        (
            'qualite = "00"',
            'qualite = "00"\nrang = 0',
            r"beneficiaries #1\.rang: must be an integer 1-9",
        ),
        (
            'qualite = "00"',
            'qualite = "00"\nrang = true',
            r"beneficiaries #1\.rang: must be int, got bool",
        ),
        ('qualite = "00"', 'qualite = "0"', r"beneficiaries #1\.qualite: must be 2 digits"),
        ('qualite = "00"', "qualite = 0", r"beneficiaries #1\.qualite: must be str, got int"),
        (
            'nom_usuel = "PAOLI"',
            'nom_usuel = "  "',
            r"beneficiaries #1\.nom_usuel: must be non-empty",
        ),
        (
            'nir = "2 68 07 2B 302 088 44"\n',
            'nir = "2 68 07 2B 302"\n',
            r"insured\.nir: must be 13 characters",
        ),
        (
            "end = 2027-03-31",
            "end = 2024-03-31",
            r"insured\.rights #1\.end: 2024-03-31 is before start",
        ),
        ('regime = "01"', 'regime = "1"', r"insured\.scheme\.regime: must be 2 digits"),
        ('kind = "vitale"', 'kind = "cps"', r"kind: must be \"vitale\""),
        ('kind = "vitale"', 'kind = "vitale"\natr = "3B 7"', r"atr: must be hex bytes"),
        ('kind = "vitale"', 'kind = "vitale"\natr = "00 11"', r"atr: must be 2 to 33 bytes"),
        ("[card]", "[card]\n[card]", r"line \d+"),
    ],
)
def test_bad_field_named_with_file(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in BASE
    path = tmp_path / "vitale-bad.toml"
    path.write_text(BASE.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CardConfigError, match=message) as info:
        load_vitale_file(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text


def test_missing_sections(tmp_path: Path) -> None:
    path = tmp_path / "vitale-empty.toml"
    path.write_text('kind = "vitale"\n', encoding="utf-8")
    with pytest.raises(CardConfigError, match=r"vitale-empty\.toml: card: missing"):
        load_vitale_file(path)


def test_beneficiary_count_bounds() -> None:
    import tomllib

    raw = tomllib.loads(BASE)
    one = raw["beneficiaries"][0]
    raw["beneficiaries"] = [one] * 7
    with pytest.raises(CardConfigError, match="beneficiaries: 1 to 6 expected, got 7"):
        parse_card_config(raw)
    raw["beneficiaries"] = []
    with pytest.raises(CardConfigError, match="got 0"):
        parse_card_config(raw)
    raw["beneficiaries"] = [one] * 6
    assert len(parse_card_config(raw).content.beneficiaries) == 6


def test_second_beneficiary_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "vitale-two.toml"
    path.write_text(BASE + BENEFICIARY.replace('"06"', '"6"'), encoding="utf-8")
    with pytest.raises(CardConfigError, match=r"beneficiaries #2\.qualite"):
        load_vitale_file(path)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CardConfigError, match=r"nope\.toml: .*No such file"):
        load_vitale_file(tmp_path / "nope.toml")


def test_native_toml_birth_date_and_custom_atr() -> None:
    import tomllib

    raw = tomllib.loads(BASE.replace('birth_date = "1968-07-19"', "birth_date = 1968-07-19"))
    raw["atr"] = "3B 75 13 00 00 47 09 EA 90 00"
    app = VitaleApplication.from_config(raw, Timing.zero())
    assert app.content.beneficiaries[0].birth_date.text == "19680719"
    assert app.atr == bytes.fromhex("3B7513000047 09EA9000")


def test_every_sample_card_loads() -> None:
    paths = sorted(CARDS_DIR.glob("vitale-*.toml"))
    assert len(paths) >= 6
    for path in paths:
        assert load_vitale_file(path).description


def test_generic_card_loader_builds_vitale_and_names_the_file(tmp_path: Path) -> None:
    from drivers.sim.cardfile import load_card

    card = load_card(CARDS_DIR / "vitale-lunaire.toml")
    assert isinstance(card, VitaleApplication)
    assert card.content.beneficiaries[1].birth_date.text == "19580000"
    path = tmp_path / "vitale-typo.toml"
    path.write_text(BASE.replace('caisse = "202"', 'caise = "202"'), encoding="utf-8")
    with pytest.raises(
        CardConfigError, match=r"^vitale-typo\.toml: insured\.scheme\.caise: unknown"
    ):
        load_card(path)
