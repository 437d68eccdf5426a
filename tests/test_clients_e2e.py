"""The generated LGO clients against a real daemon: real HTTPS with an enrolled client
certificate, real pcscd + vpcd, simulated CPS and Vitale cards.

The Python client (clients/python/comptoir_client) and the TypeScript example
(clients/typescript/example.ts, compiled by tsc, run by Node) are used the way an LGO vendor
would use them; signatures are checked against the certificate the card itself serves.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from comptoir_client import Client
from comptoir_client.api.cards import cps_certificate, cps_sign, cps_unlock, vitale_read
from comptoir_client.api.readers import readers_list
from comptoir_client.models import (
    CertificateModel,
    KeyRole,
    ReaderModel,
    SignatureModel,
    SignRequest,
    UnlockedModel,
    UnlockRequest,
    VitaleReadModel,
)
from cryptography import x509

from counter.api_client import ApiProblem, connect, expect
from hostd.openapi_export import openapi_document
from tests.api_cards_support import PIN, P, verify
from tests.hostd_support import (
    OPERATOR_NAME,
    Daemon,
    cps_card,
    cps_config,
    start_daemon,
    vitale_card,
)
from tests.rig import PcscRig

ROOT = Path(__file__).resolve().parent.parent
TS_DIR = ROOT / "clients" / "typescript"
CARD_WAIT_S = 10.0


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: PcscRig) -> Iterator[Daemon]:
    d = start_daemon(tmp_path_factory.mktemp("hostd-clients"))
    try:
        yield d
    finally:
        d.stop()


def enrolled(daemon: Daemon, name: str) -> tuple[Path, Path]:
    """A counter enrolled the way ``comptoir enrol`` does: its certificate and key files."""
    response, cert, key = daemon.enrol(daemon.pairing_code(name), name)
    assert response.status_code == 200, response.text
    return cert, key


def python_client(daemon: Daemon, name: str) -> Client:
    cert, key = enrolled(daemon, name)
    return connect(daemon.api_url, ca=daemon.ca_path, cert=cert, key=key, operator=OPERATOR_NAME)


def wait_for_cards(client: Client, kinds: dict[str, str]) -> list[ReaderModel]:
    """The readers list once the daemon shows each named reader holding its kind of card."""
    deadline = time.monotonic() + CARD_WAIT_S
    while True:
        listed = readers_list.sync(client=client)
        assert isinstance(listed, list)
        seen = {r.name: r.card_kind for r in listed}
        if all(seen.get(name) == kind for name, kind in kinds.items()):
            return listed
        if time.monotonic() > deadline:
            raise TimeoutError(f"daemon never showed {kinds}; it shows {seen}")
        time.sleep(0.05)


def cps_certificate_of(client: Client, reader: str, key: KeyRole) -> x509.Certificate:
    answer = expect(cps_certificate.sync(reader, key, client=client), CertificateModel)
    return x509.load_pem_x509_certificate(answer.certificate_pem.encode())


def test_python_client_lists_readers_reads_vitale_and_signs_with_the_cps(
    daemon: Daemon, pcsc_rig: PcscRig
) -> None:
    with python_client(daemon, "Comptoir Python") as client:
        cps_reader = pcsc_rig.insert(0, cps_card(replace(cps_config(daemon.pki), pin=PIN)))
        vitale_reader = pcsc_rig.insert(1, vitale_card())
        readers = wait_for_cards(client, {cps_reader: "cps", vitale_reader: "vitale"})
        assert {r.name for r in readers} >= {cps_reader, vitale_reader}
        assert all(r.card_present and r.since is not None for r in readers if r.card_kind)

        card = expect(vitale_read.sync(vitale_reader, client=client), VitaleReadModel)
        twins = [b for b in card.beneficiaries if b.prenom in ("Éloïse", "Noël")]
        assert [(b.prenom, b.rang) for b in twins] == [("Éloïse", 1), ("Noël", 2)]
        assert twins[0].birth_date == twins[1].birth_date
        assert card.insured.nir.valid is True and card.nir_problems == []

        document = b"Ordonnance 2026-12-01, Mme X"
        body = SignRequest(key=KeyRole.SIGN, data_b64=base64.b64encode(document).decode())
        # Locked card: the client types the answer as the API's problem, slug and all.
        with pytest.raises(ApiProblem) as locked:
            expect(cps_sign.sync(cps_reader, client=client, body=body), SignatureModel)
        assert locked.value.problem.status == 403
        assert locked.value.problem.type_ == P + "cps-locked"

        unlocked = expect(
            cps_unlock.sync(cps_reader, client=client, body=UnlockRequest(pin=PIN)), UnlockedModel
        )
        assert unlocked.unlocked is True and unlocked.tries_left == 3
        signed = expect(cps_sign.sync(cps_reader, client=client, body=body), SignatureModel)
        signature = base64.b64decode(signed.signature_b64)
        verify(cps_certificate_of(client, cps_reader, KeyRole.SIGN), signature, document)

    rows = [r for r in daemon.box.audit.records() if r.client == "Comptoir Python"]
    assert any(r.action == "cps.sign.sign" and r.operator == OPERATOR_NAME for r in rows)


def test_typescript_example_compiled_by_tsc_lists_readers_and_gets_a_signature(
    daemon: Daemon, pcsc_rig: PcscRig
) -> None:
    cert, key = enrolled(daemon, "Comptoir TypeScript")
    cps_reader = pcsc_rig.insert(0, cps_card(replace(cps_config(daemon.pki), pin=PIN)))
    with python_client(daemon, "Comptoir TS watcher") as watcher:
        wait_for_cards(watcher, {cps_reader: "cps"})

    tsc = subprocess.run(
        [str(TS_DIR / "node_modules" / ".bin" / "tsc"), "-p", str(TS_DIR)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert tsc.returncode == 0, tsc.stdout + tsc.stderr
    env = {
        **os.environ,
        "COMPTOIR_URL": daemon.api_url,
        "COMPTOIR_CA": str(daemon.ca_path),
        "COMPTOIR_CERT": str(cert),
        "COMPTOIR_KEY": str(key),
        "COMPTOIR_OPERATOR": OPERATOR_NAME,
        "COMPTOIR_PIN": PIN,
    }
    # A wrong PIN first, from another counter (each counter has a budget of one wrong API
    # PIN): the problem reaches TypeScript typed, slug included.
    other_cert, other_key = enrolled(daemon, "Comptoir TypeScript 2")
    wrong = subprocess.run(
        ["node", str(TS_DIR / "dist" / "example.js")],
        capture_output=True, text=True, timeout=60, check=False,
        env={**env, "COMPTOIR_PIN": "0000", "COMPTOIR_CERT": str(other_cert),
             "COMPTOIR_KEY": str(other_key)},
    )
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert f"unlock: HTTP 403 {P}wrong-pin" in wrong.stderr and "0000" not in wrong.stderr
    run = subprocess.run(
        ["node", str(TS_DIR / "dist" / "example.js")],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert PIN not in run.stdout + run.stderr
    out = json.loads(run.stdout)
    assert out["cps_reader"] == cps_reader
    assert any(r["name"] == cps_reader and r["card_kind"] == "cps" for r in out["readers"])

    with python_client(daemon, "Comptoir TS checker") as checker:
        cert_of_card = cps_certificate_of(checker, cps_reader, KeyRole.SIGN)
    verify(cert_of_card, base64.b64decode(out["signature_b64"]), base64.b64decode(out["data_b64"]))
    rows = [r for r in daemon.box.audit.records() if r.client == "Comptoir TypeScript"]
    assert any(r.action == "cps.sign.sign" and r.operator == OPERATOR_NAME for r in rows)


def test_the_exported_document_is_the_one_the_daemon_serves(daemon: Daemon) -> None:
    """The clients are generated without a box: that document must be the served one."""
    with python_client(daemon, "Comptoir OpenAPI") as client:
        served = client.get_httpx_client().get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == openapi_document()


def test_the_python_client_has_the_apcv_operations(daemon: Daemon) -> None:
    """ApCV is routed on every box, so the generated client has its three calls; this daemon
    has no [apcv] and answers them with the problem an LGO switches on."""
    from comptoir_client.api.scans import apcv_end, apcv_read, apcv_sign
    from comptoir_client.models import ApcvReadRequest, ApcvSignRequest, ProblemDetails
    from comptoir_client.types import Response

    for module in (apcv_read, apcv_end, apcv_sign):
        assert callable(module.sync) and callable(module.asyncio_detailed)
    with python_client(daemon, "Comptoir ApCV") as client:
        answers: list[Response[Any]] = [
            apcv_read.sync_detailed("Comptoir ApCV", client=client,
                                    body=ApcvReadRequest(scan_id=1, cps_reader="Reader 0")),
            apcv_end.sync_detailed("ctx-1", client=client, cps_reader="Reader 0"),
            apcv_sign.sync_detailed("ctx-1", client=client, body=ApcvSignRequest(
                cps_reader="Reader 0", nir_assure="1840569381042", donnee_fse="00",
                donnee_dre="00", montant_total_cents=100, numero_facture="1")),
        ]
    for answer in answers:
        assert answer.status_code == 503
        assert isinstance(answer.parsed, ProblemDetails)
        assert answer.parsed.type_ == P + "teleservice-not-configured"
