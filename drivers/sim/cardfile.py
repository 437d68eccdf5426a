"""Card files: one TOML file describes one simulated card (format in docs/card-files.md).

:func:`load_card` reads a file and dispatches on ``kind``: ``"cps"`` is parsed here,
``"vitale"`` by ``drivers.sim.vitale_app``. Errors are :class:`CardConfigError` with one line
naming the file and the field (``cps-x.toml: holder.rpps: must be 11 digits``); unknown fields
are errors so a typo cannot silently change a test card. :func:`dump_cps` writes the CPS format
back (the sample-card generator uses it).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from drivers.cards.cps import CPS3_ATR
from drivers.cards.cps_model import CpsHolder, Situation
from drivers.sim import testpki
from drivers.sim.apcv_nfc_app import ApcvNfcApplication
from drivers.sim.card import SimCard
from drivers.sim.card_table import CardConfigError, Table, parse_atr
from drivers.sim.cps_app import MAX_UNBLOCKS, CpsApplication, CpsCardConfig
from drivers.sim.timing import Timing
from drivers.sim.vitale_app import VitaleApplication

__all__ = ["dump_cps", "load_card", "parse_cps"]

KINDS = ("cps", "vitale", "apcv-nfc")
CPS_TOP = {"kind", "description", "atr", "card", "holder", "situations", "secrets", "counters",
           "keys"}  # fmt: skip


def load_card(path: Path | str, timing: Timing | None = None) -> SimCard:
    """The simulated card a card file describes; ``CardConfigError`` names file and field."""
    path = Path(path)
    timing = timing or Timing.zero()
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CardConfigError(f"{path.name}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CardConfigError(f"{path.name}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CardConfigError(f"{path.name}: not valid TOML: {exc}") from exc
    try:
        kind = table.get("kind")
        if kind == "cps":
            return CpsApplication(parse_cps(table), timing)
        if kind == "vitale":
            return VitaleApplication.from_config(table, timing)
        if kind == "apcv-nfc":
            return ApcvNfcApplication.from_config(table, timing)
        raise CardConfigError(f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    except CardConfigError as exc:
        raise CardConfigError(f"{path.name}: {exc}") from exc


def _key(keys: Table, field: str) -> rsa.RSAPrivateKey:
    pem = keys.text(field)
    try:
        key = testpki.load_rsa_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise CardConfigError(f"{keys.at(field)}: not an unencrypted PEM RSA key") from exc
    if key.key_size != 2048:
        raise CardConfigError(f"{keys.at(field)}: must be RSA-2048, got {key.key_size} bits")
    return key


def _cert(keys: Table, field: str, key: rsa.RSAPrivateKey) -> x509.Certificate:
    pem = keys.text(field)
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise CardConfigError(f"{keys.at(field)}: not a PEM X.509 certificate") from exc
    if cert.public_key() != key.public_key():
        raise CardConfigError(f"{keys.at(field)}: does not match the private key")
    return cert


def _situation(raw: object, i: int) -> Situation:
    t = Table(raw, f"situations #{i}", {"number", "role", "structure", "finess", "siret"})
    return Situation(
        number=t.integer("number", 1, 16, i),
        role=t.text("role"),
        structure_name=t.text("structure"),
        finess=t.opt_text("finess", pattern=r"[0-9][0-9AB][0-9]{7}",
                          rule="must be 9 characters (digits; 2A/2B for Corsica)"),
        siret=t.opt_text("siret", pattern=r"[0-9]{14}", rule="must be 14 digits"),
    )  # fmt: skip


def parse_cps(table: dict[str, Any]) -> CpsCardConfig:
    """Validate a ``kind = "cps"`` table (already TOML-decoded)."""
    top = Table(table, "", CPS_TOP)
    top.opt_text("description")
    atr = parse_atr(top, CPS3_ATR)
    card = Table(table.get("card"), "card", {"serial", "type", "valid_from", "valid_until"})
    holder_t = Table(table.get("holder"), "holder",
                  {"civilite", "nom", "prenom", "rpps", "profession", "specialty"})  # fmt: skip
    secrets = Table(table.get("secrets"), "secrets", {"pin", "puk"})
    counters = Table(table.get("counters", {}), "counters",
                  {"pin_tries_left", "puk_tries_left", "unblocks_left"})  # fmt: skip
    keys = Table(table.get("keys"), "keys", {"auth_key", "auth_cert", "sign_key", "sign_cert"})

    raw_sits = table.get("situations", [])
    if not isinstance(raw_sits, list) or not raw_sits:
        raise CardConfigError("situations: at least one [[situations]] entry is required")
    sits = tuple(_situation(raw, i) for i, raw in enumerate(raw_sits, start=1))
    numbers = [s.number for s in sits]
    if len(set(numbers)) != len(numbers):
        raise CardConfigError("situations: two entries have the same number")

    valid_from, valid_until = card.date("valid_from"), card.date("valid_until")
    if valid_until <= valid_from:
        raise CardConfigError("card.valid_until: must be after card.valid_from")
    holder = CpsHolder(
        card_serial=card.text("serial", pattern=r"[0-9]{10}", rule="must be 10 digits"),
        civilite=holder_t.text("civilite"),
        nom=holder_t.text("nom"),
        prenom=holder_t.text("prenom"),
        rpps=holder_t.text("rpps", pattern=r"[0-9]{11}", rule="must be 11 digits"),
        profession=holder_t.text("profession"),
        specialty=holder_t.opt_text("specialty"),
        situations=tuple(sorted(sits, key=lambda s: s.number)),
    )
    auth_key, sign_key = _key(keys, "auth_key"), _key(keys, "sign_key")
    return CpsCardConfig(
        holder=holder,
        pin=secrets.text("pin", pattern=r"[0-9]{4}", rule="must be 4 digits"),
        puk=secrets.text("puk", pattern=r"[0-9]{8}", rule="must be 8 digits"),
        auth_key=auth_key,
        auth_cert=_cert(keys, "auth_cert", auth_key),
        sign_key=sign_key,
        sign_cert=_cert(keys, "sign_cert", sign_key),
        card_type=card.opt_text("type") or "CPS3",
        valid_from=valid_from.strftime("%Y%m%d"),
        valid_until=valid_until.strftime("%Y%m%d"),
        atr=atr,
        pin_tries_left=counters.integer("pin_tries_left", 0, 3, 3),
        puk_tries_left=counters.integer("puk_tries_left", 0, 3, 3),
        unblocks_left=counters.integer("unblocks_left", 0, MAX_UNBLOCKS, MAX_UNBLOCKS),
    )


def _s(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _pem(value: bytes) -> str:
    return "'''\n" + value.decode("ascii") + "'''"


def _date(yyyymmdd: str) -> str:
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"


def dump_cps(cfg: CpsCardConfig, description: str) -> str:
    """The card file text for ``cfg`` (round-trips through :func:`parse_cps`)."""
    h = cfg.holder
    lines = [
        "# TEST CARD. The keys below are test keys from Comptoir's TEST PKI: never trust them.",
        'kind = "cps"',
        f"description = {_s(description)}",
        f'atr = "{cfg.atr.hex(" ").upper()}"',
        "",
        "[card]",
        f"serial = {_s(h.card_serial)}",
        f"type = {_s(cfg.card_type)}",
        f"valid_from = {_date(cfg.valid_from)}",
        f"valid_until = {_date(cfg.valid_until)}",
        "",
        "[holder]",
        f"civilite = {_s(h.civilite)}",
        f"nom = {_s(h.nom)}",
        f"prenom = {_s(h.prenom)}",
        f"rpps = {_s(h.rpps)}",
        f"profession = {_s(h.profession)}",
    ]
    if h.specialty:
        lines.append(f"specialty = {_s(h.specialty)}")
    for sit in h.situations:
        lines += ["", "[[situations]]", f"number = {sit.number}", f"role = {_s(sit.role)}",
                  f"structure = {_s(sit.structure_name)}"]  # fmt: skip
        if sit.finess:
            lines.append(f"finess = {_s(sit.finess)}")
        if sit.siret:
            lines.append(f"siret = {_s(sit.siret)}")
    lines += [
        "",
        "[secrets]",
        f"pin = {_s(cfg.pin)}",
        f"puk = {_s(cfg.puk)}",
        "",
        "[counters]",
        f"pin_tries_left = {cfg.pin_tries_left}",
        f"puk_tries_left = {cfg.puk_tries_left}",
        f"unblocks_left = {cfg.unblocks_left}",
        "",
        "[keys]",
        f"auth_key = {_pem(testpki.key_pem(cfg.auth_key))}",
        f"auth_cert = {_pem(testpki.cert_pem(cfg.auth_cert))}",
        f"sign_key = {_pem(testpki.key_pem(cfg.sign_key))}",
        f"sign_cert = {_pem(testpki.cert_pem(cfg.sign_cert))}",
    ]
    return "\n".join(lines) + "\n"
