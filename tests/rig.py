"""Test rigs over real parts: a private pcscd with vpcd readers, and a SoftHSM2 token.

Used through the fixtures in ``tests/conftest.py`` (``pcsc_rig``, ``softhsm_token``); import
the classes from here when a test needs its own variant.

PC/SC: libpcsclite reads ``PCSCLITE_CSOCK_NAME`` once per process, so a test session has one
private pcscd (:func:`session_pcscd_dir` is fixed in ``pytest_configure`` before anything can
open a PC/SC context). Tests that need other readers plug/unplug them or restart pcscd; they
never start a second pcscd in the same process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from drivers.pcsc import wait_for_card
from drivers.sim.card import SimCard
from drivers.sim.pcscd import PrivatePcscd
from drivers.sim.testpki import TestPki, cps_subject, issue
from drivers.sim.vpcd import VirtualSlot

# Time pcscd needs to notice an insertion/removal: its presence poll runs every 400 ms.
CARD_WAIT_S = 5.0


def session_pcscd_dir() -> Path:
    """A short directory for this process's pcscd (a unix socket path must fit 107 bytes)."""
    existing = os.environ.get("COMPTOIR_TEST_PCSCD_DIR")
    if existing:
        return Path(existing)
    path = Path(tempfile.mkdtemp(prefix="comptoir-pcscd-"))
    os.environ["COMPTOIR_TEST_PCSCD_DIR"] = str(path)
    os.environ["PCSCLITE_CSOCK_NAME"] = str(path / "pcscd.comm")
    return path


class EchoCard:
    """The smallest card application: answers every APDU with a fixed status word.

    It still speaks through the real vpcd, pcscd and libpcsclite, which is what the transport
    tests need. ``process_delay`` keeps a command busy so a test can pull the card mid-way;
    ``busy`` is set while a command is being processed.
    """

    def __init__(self, atr: bytes = bytes.fromhex("3B80800101"), sw: bytes = b"\x90\x00") -> None:
        self._atr = atr
        self.sw = sw
        self.process_delay = 0.0
        self.busy = threading.Event()
        self.powered = False
        self.power_cycles = 0
        self.received: list[bytes] = []

    @property
    def atr(self) -> bytes:
        return self._atr

    def power_on(self) -> None:
        self.powered = True
        self.power_cycles += 1

    def power_off(self) -> None:
        self.powered = False

    def process(self, apdu: bytes) -> bytes:
        self.received.append(apdu)
        self.busy.set()
        try:
            if self.process_delay:
                time.sleep(self.process_delay)
            # Echo the header so a test can tell which command got which answer.
            return apdu[:4] + self.sw
        finally:
            self.busy.clear()


class PcscRig:
    """The session's private pcscd, its vpcd readers, and helpers that wait for pcscd."""

    def __init__(self, directory: Path, readers: int = 2) -> None:
        self.pcscd = PrivatePcscd(directory, readers)
        self.pcscd.use_in_this_process()

    # Names are PC/SC reader names; slot i is reader_names[i].
    @property
    def reader_names(self) -> list[str]:
        return self.pcscd.reader_names()

    def reader(self, i: int) -> str:
        return self.pcscd.reader_names()[i]

    def slot(self, i: int) -> VirtualSlot:
        return self.pcscd.slot(i)

    def insert(self, i: int, card: SimCard, *, wait: bool = True) -> str:
        """Insert ``card`` in slot ``i`` and (by default) wait until pcscd reports it."""
        self.slot(i).insert(card)
        if wait and not wait_for_card(self.reader(i), True, CARD_WAIT_S):
            raise TimeoutError(f"pcscd did not see the card in {self.reader(i)}")
        return self.reader(i)

    def remove(self, i: int, *, wait: bool = True) -> None:
        self.slot(i).remove()
        if wait and not wait_for_card(self.reader(i), False, CARD_WAIT_S):
            raise TimeoutError(f"pcscd still sees a card in {self.reader(i)}")

    def start(self) -> None:
        self.pcscd.start()

    def restart_pcscd(self) -> None:
        self.pcscd.restart()

    def kill_pcscd(self) -> None:
        self.pcscd.kill()

    def stop_pcscd(self) -> None:
        self.pcscd.stop()

    def set_plugged(self, reader: int, plugged: bool) -> None:
        self.pcscd.set_plugged(reader, plugged)

    def reset(self) -> None:
        """Between tests: every slot empty, every reader plugged, pcscd running."""
        for slot in self.pcscd.slots:
            slot.remove()
        self.pcscd.plug_all()
        if not self.pcscd.running:
            self.pcscd.start()
        for name in self.reader_names:
            wait_for_card(name, False, CARD_WAIT_S)

    def close(self) -> None:
        self.pcscd.close()


# -- PKCS#11 --------------------------------------------------------------------------------------

SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")


@dataclass(frozen=True)
class SoftHsmToken:
    """A SoftHSM2 token in its own directory. ``env`` holds SOFTHSM2_CONF for subprocesses;
    :meth:`activate` sets it in this process (SoftHSM reads it when the module initialises)."""

    directory: Path
    label: str
    user_pin: str
    so_pin: str

    @property
    def conf(self) -> Path:
        return self.directory / "softhsm2.conf"

    @property
    def module(self) -> Path:
        return SOFTHSM_MODULE

    @property
    def env(self) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.conf)}

    def activate(self) -> None:
        os.environ["SOFTHSM2_CONF"] = str(self.conf)

    @classmethod
    def create(
        cls,
        directory: Path,
        label: str = "CPS-TEST",
        user_pin: str = "1234",
        so_pin: str = "87654321",
    ) -> SoftHsmToken:
        tokens = directory / "tokens"
        tokens.mkdir(parents=True, exist_ok=True)
        token = cls(directory, label, user_pin, so_pin)
        token.conf.write_text(
            f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
        )
        if shutil.which("softhsm2-util") is None or not SOFTHSM_MODULE.exists():
            raise RuntimeError("softhsm2 missing: apt-get install softhsm2")
        subprocess.run(
            [
                *("softhsm2-util", "--init-token", "--free", "--label", label),
                *("--pin", user_pin, "--so-pin", so_pin),
            ],
            env={**os.environ, **token.env},
            check=True,
            capture_output=True,
        )
        return token


_ENV_LOCK = threading.Lock()


def load_softhsm(token: SoftHsmToken) -> Any:
    """A ``pkcs11.lib`` for this token only, whatever SOFTHSM2_CONF other tests use.

    SoftHSM reads SOFTHSM2_CONF once, in C_Initialize, and the dynamic loader shares a library
    loaded twice from one path: so the token loads its own copy of the module, initialised
    while the variable names this token's configuration.
    """
    import pkcs11

    private = token.directory / "libsofthsm2.so"
    if not private.exists():
        shutil.copyfile(SOFTHSM_MODULE, private)
    with _ENV_LOCK:
        before = os.environ.get("SOFTHSM2_CONF")
        os.environ["SOFTHSM2_CONF"] = str(token.conf)
        try:
            return pkcs11.lib(str(private))
        finally:
            if before is None:
                del os.environ["SOFTHSM2_CONF"]
            else:
                os.environ["SOFTHSM2_CONF"] = before


@dataclass(frozen=True)
class CpsTokenHolder:
    nom: str = "PHARMACIEN0052428"
    prenom: str = "ALAIN"
    rpps: str = "10101234567"
    profession: str = "Pharmacien"


def provision_cps_token(
    lib: Any, token: SoftHsmToken, pki: TestPki, holder: CpsTokenHolder = CpsTokenHolder()
) -> dict[str, x509.Certificate]:
    """Make the token look like a CPS to PKCS#11: an RSA-2048 key pair per role, generated
    inside the token, and its certificate from the TEST IGC-Santé PERSONNES CA (same CKA_ID).
    Returns the certificates by role name ("auth", "sign")."""
    from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass

    certs: dict[str, x509.Certificate] = {}
    tok = lib.get_token(token_label=token.label)
    with tok.open(rw=True, user_pin=token.user_pin) as session:
        for key_id, role, usage, label in (
            (b"\x01", "auth", "digital_signature", "CPS_PRIV_AUT"),
            (b"\x02", "sign", "content_commitment", "CPS_PRIV_SIG"),
        ):
            public, _private = session.generate_keypair(
                KeyType.RSA, 2048, id=key_id, label=label, store=True
            )
            numbers = rsa.RSAPublicNumbers(
                int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
                int.from_bytes(public[Attribute.MODULUS], "big"),
            )
            subject = cps_subject(
                nom=holder.nom,
                prenom=holder.prenom,
                rpps=holder.rpps,
                profession=holder.profession,
                signature=role == "sign",
            )
            cert = issue(pki.personnes, numbers.public_key(), subject, key_usage={usage})
            der = cert.public_bytes(serialization.Encoding.DER)
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.ID: key_id,
                    Attribute.LABEL: f"Certificat {role} CPS",
                    Attribute.SUBJECT: cert.subject.public_bytes(),
                    Attribute.VALUE: der,
                }
            )
            certs[role] = cert
    return certs
