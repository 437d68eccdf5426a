"""Helpers for the card API tests: waiting for the daemon to see a card, URLs, verifiers."""

from __future__ import annotations

import time
from dataclasses import replace

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from drivers.sim.timing import Timing
from tests.hostd_support import OPERATOR, Daemon, cps_card, cps_config
from tests.rig import PcscRig

LOCKED = {"unlocked": False, "unlocked_by": None, "operator": None, "unlocked_at": None,
          "end_of_day": None, "idle_seconds_left": None}
"""A locked CPS's lease as the API answers it (every field present, null while locked)."""
PIN = "4739"
P = "urn:comptoir:problem:"


def wait_for_kind(http: httpx.Client, reader: str, kind: str | None, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = {r["name"]: r for r in http.get("/v1/readers").json()}
        if reader in listed and listed[reader]["card_kind"] == kind:
            return
        time.sleep(0.05)
    raise TimeoutError(f"daemon never saw {kind} in {reader}")


def insert_cps(rig: PcscRig, daemon: Daemon, http: httpx.Client, *, pin: str = PIN,
               timing: Timing | None = None, slot: int = 0) -> str:
    cfg = replace(cps_config(daemon.pki), pin=pin)
    reader = rig.insert(slot, cps_card(cfg, timing))
    wait_for_kind(http, reader, "cps")
    return reader


def url(reader: str) -> str:
    return httpx.URL(f"/v1/cps/{reader}").raw_path.decode()


def cert_of(http: httpx.Client, reader: str, key: str) -> x509.Certificate:
    response = http.get(f"{url(reader)}/certificates/{key}", headers=OPERATOR)
    assert response.status_code == 200, response.text
    return x509.load_pem_x509_certificate(response.json()["certificate_pem"].encode())


def verify(cert: x509.Certificate, signature: bytes, data: bytes) -> None:
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


