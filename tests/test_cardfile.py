"""Card files: the samples load and work, the CPS format round-trips, bad files get one clear
line naming the file and the field."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from drivers.cards.cps import CpsCard
from drivers.cards.cps_model import KeyRole
from drivers.errors import LastTryRefused
from drivers.sim import testpki
from drivers.sim.card_table import CardConfigError
from drivers.sim.cardfile import dump_cps, load_card, parse_cps
from drivers.sim.cps_app import CpsApplication
from drivers.sim.make_sample_cards import CARDS_DIR, PKI_DIR
from tests.card_support import DirectTransport

SAMPLES = sorted(CARDS_DIR.glob("cps-*.toml"))


def test_there_are_sample_cps_cards() -> None:
    assert len(SAMPLES) >= 3


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_loads_and_reads_through_the_driver(path: Path) -> None:
    sim = load_card(path)
    assert isinstance(sim, CpsApplication)
    card = CpsCard(DirectTransport(sim))
    ident = card.identity()
    assert ident.profession == "Pharmacien" and re.fullmatch(r"[0-9]{11}", ident.rpps)
    assert card.certificate(KeyRole.SIGN).startswith(b"\x30")


def test_sample_with_one_try_refuses_automated_pin() -> None:
    card = CpsCard(DirectTransport(load_card(CARDS_DIR / "cps-un-essai.toml")))
    assert card.tries_left() == 1
    with pytest.raises(LastTryRefused):
        card.verify_pin(bytearray(b"1234"))
    card.verify_pin(bytearray(b"1234"), from_person=True)
    assert card.tries_left() == 3


def test_titulaire_has_two_situations_with_accents() -> None:
    card = CpsCard(DirectTransport(load_card(CARDS_DIR / "cps-titulaire-lefevre.toml")))
    card.verify_pin(bytearray(b"1234"))
    holder = card.holder()
    assert (holder.nom, holder.prenom) == ("LEFÈVRE", "Hélène")
    assert [s.structure_name for s in holder.situations] == [
        "Pharmacie de la Gare",
        "SELARL Pharmacie des Écoles",
    ]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_certificates_chain_to_the_committed_test_root(path: Path, tmp_path: Path) -> None:
    sim = load_card(path)
    assert isinstance(sim, CpsApplication)
    for cert in (sim.config.auth_cert, sim.config.sign_cert):
        (tmp_path / "ee.pem").write_bytes(testpki.cert_pem(cert))
        done = subprocess.run(
            ["openssl", "verify", "-CAfile", PKI_DIR / "root.crt.pem",
             "-untrusted", PKI_DIR / "personnes.crt.pem", tmp_path / "ee.pem"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


def test_dump_round_trips() -> None:
    import tomllib

    text = SAMPLES[0].read_text(encoding="utf-8")
    cfg = parse_cps(tomllib.loads(text))
    again = parse_cps(tomllib.loads(dump_cps(cfg, "copy")))
    assert again.holder == cfg.holder and again.pin == cfg.pin
    assert again.sign_cert == cfg.sign_cert


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BASE = (CARDS_DIR / "cps-adjoint-dalmeida.toml").read_text(encoding="utf-8")
OTHER = (CARDS_DIR / "cps-titulaire-lefevre.toml").read_text(encoding="utf-8")


KEY_HEAD = "-----BEGIN PRIVATE KEY-----\nMII"
CASES = [
    # (text to replace, replacement, expected message)
    ('rpps = "10009990002"', 'rpps = "1000999"', "holder.rpps: must be 11 digits"),
    ('pin = "1234"', 'pin = "12a4"', "secrets.pin: must be 4 digits"),
    ('nom = "', 'nmo = "', "holder.nmo: unknown field"),
    ('kind = "cps"', 'kind = "cpx"', "kind: must be one of cps, vitale"),
    ("valid_until = ", "valid_until = 2000-01-01\n#", "card.valid_until: must be after"),
    ('finess = "690012345"', 'finess = "69001"', "situations #1.finess: must be 9"),
    ("number = 1", "number = 17", "situations #1.number: must be an integer 1..16"),
    ("unblocks_left = 10", "unblocks_left = 11", "counters.unblocks_left: must be an integer"),
    ('serial = "0000420002"', "serial = 420002", "card.serial: must be str, got int"),
    ("[keys]", '[keys]\nx = "1"', "keys.x: unknown field"),
    (KEY_HEAD, KEY_HEAD.replace("MII", "XII"), "keys.auth_key: not an unencrypted PEM RSA key"),
    ("[secrets]", "[secret]", "secret: unknown field"),
    ('atr = "', "atr = 3\n#", "atr: must be str, got int"),
    ('atr = "', 'atr = "3B0"\n#', "atr: must be hex bytes, got '3B0'"),
    ('atr = "', 'atr = "00 11"\n#', "atr: must be 2 to 33 bytes starting with 3B or 3F"),
    ('nom = "', 'nom = "  "\n#', "holder.nom: must be non-empty text"),
    ("[holder]", "[titulaire]", "titulaire: unknown field"),
    ("[card]", "[[[", "not valid TOML"),
]


def _assert_bad(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad-card.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CardConfigError) as exc:
        load_card(path)
    got = str(exc.value)
    assert got.startswith("bad-card.toml: ") and message in got and "\n" not in got, got


@pytest.mark.parametrize(("old", "new", "message"), CASES, ids=[c[2][:30] for c in CASES])
def test_bad_card_files_name_file_and_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    _assert_bad(tmp_path, _edit(BASE, old, new), message)


def test_certificate_of_another_key_is_refused(tmp_path: Path) -> None:
    start = OTHER.index("auth_cert = '''")
    other_cert = OTHER[start : OTHER.index("'''", start + 15) + 3]
    mine = BASE.index("auth_cert = '''")
    mine_end = BASE.index("'''", mine + 15) + 3
    text = BASE[:mine] + other_cert + BASE[mine_end:]
    _assert_bad(tmp_path, text, "keys.auth_cert: does not match the private key")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CardConfigError, match=r"nope\.toml: cannot read"):
        load_card(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("old", "new", "secret"),
    [
        ('pin = "1234"', 'pin = "98765"', "98765"),
        ('pin = "1234"', "pin = 98765", "98765"),
        ('puk = "', "puk = 87654321\n#", "87654321"),
        ('puk = "', 'puk = "8765432"\n#', "8765432"),
    ],
)
def test_errors_never_echo_the_pin(tmp_path: Path, old: str, new: str, secret: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(_edit(BASE, old, new), encoding="utf-8")
    with pytest.raises(CardConfigError) as exc:
        load_card(path)
    assert "secrets.p" in str(exc.value) and secret not in str(exc.value)
