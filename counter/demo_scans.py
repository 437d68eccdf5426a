"""The demo's scanning part: a QR scanner per counter (simulated on a pty, opened by the daemon
through pyserial), the GIE's ApCV service (the test double, HTTPS on 127.0.0.1), then an
ordonnance scanned at both counters (flagged to both) and an ApCV read through the shared CPS.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from cryptography.x509.oid import ExtendedKeyUsageOID
from rich.console import Console
from rich.table import Table

from drivers.sim import testpki
from drivers.sim.make_sample_cards import PKI_DIR
from drivers.sim.scanner import PtyScanner
from drivers.sim.services import apcv_double

ORDONNANCE = "ORD1:2026112500012345678901"
SERVER_NAME = "apcv.double.test"
COUNTERS = ("Comptoir 1", "Comptoir 2")


class ScanDemoError(Exception):
    """A step of the scanning tour failed."""


@dataclass
class ScanRig:
    scanners: dict[str, PtyScanner]
    double: apcv_double.ApcvDouble
    config: str
    """``[scan]`` and ``[apcv]`` tables for the daemon's configuration file."""


@contextlib.contextmanager
def scan_rig(work: Path) -> Iterator[ScanRig]:
    pki = testpki.TestPki.load(PKI_DIR)
    key = testpki.new_rsa_key()
    cert = testpki.issue(
        pki.organisations, key.public_key(), testpki.igc_sante_name(SERVER_NAME),
        key_usage={"digital_signature", "key_encipherment"},
        extended_key_usage=[ExtendedKeyUsageOID.SERVER_AUTH], dns_names=[SERVER_NAME],
    )  # fmt: skip
    chain, key_path = work / "apcv-server.pem", work / "apcv-server.key"
    chain.write_bytes(testpki.cert_pem(cert) + testpki.cert_pem(pki.organisations.cert))
    key_path.write_bytes(testpki.key_pem(key))
    root, personnes = work / "test-root.pem", work / "test-personnes.pem"
    root.write_bytes(testpki.cert_pem(pki.root.cert))
    personnes.write_bytes(testpki.cert_pem(pki.personnes.cert))
    double = apcv_double.ApcvDouble(root, personnes)
    server = apcv_double.serve(double, chain, key_path)
    scanners = {name: PtyScanner(work / f"scanner-{i + 1}").plug()
                for i, name in enumerate(COUNTERS)}
    serial = "".join(
        f'\n[[scan.serial]]\nname = "scanner-{i + 1}"\nport = "{s.link}"\ncounter = "{name}"\n'
        for i, (name, s) in enumerate(scanners.items())
    )
    config = (
        f"{serial}\n[apcv]\nhost = \"127.0.0.1\"\nport = {server.port}\n"
        f'server_name = "{SERVER_NAME}"\ntrust = "{root}"\n'
        'identifiant_facturation = "123456783"\nspecialite_amo = "50"\n'
        'national_id = "810001234567"\nidam = "AM-TEST-0001"\n'
    )
    try:
        yield ScanRig(scanners, double, config)
    finally:
        for s in scanners.values():
            s.unplug()
        server.stop()


def _check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise ScanDemoError(f"{response.request.method} {response.request.url.path}: "
                            f"{response.text}")
    return response.json()


def _scans(client: httpx.Client, counter: str) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = _check(client.get(f"/v1/counters/{quote(counter)}/scans"))
    return answer


def _wait_scan(client: httpx.Client, counter: str, text: str, after: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for event in _scans(client, counter):
            if event["id"] > after and event["scan"]["text"] == text:
                return event
        time.sleep(0.1)
    raise ScanDemoError(f"the daemon never reported the scan at {counter}")


def _events(client: httpx.Client, counter: str, after: int) -> list[dict[str, Any]]:
    """A counter's event stream (SSE), resumed after ``after``, for two seconds."""
    out = []
    with client.stream("GET", f"/v1/counters/{quote(counter)}/scans/events",
                       params={"after": after, "max_seconds": 2}) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
    return out


def ordonnance_and_apcv(console: Console, rig: ScanRig, clients: dict[str, httpx.Client],
                        cps_reader: str) -> None:
    first, second = (clients[n] for n in COUNTERS)
    console.rule("An ordonnance numérique scanned at both counters")
    last = max([e["id"] for n in COUNTERS for e in _scans(clients[n], n)], default=0)
    rig.scanners["Comptoir 1"].scan(ORDONNANCE)
    scan = _wait_scan(first, "Comptoir 1", ORDONNANCE, last)
    console.print(f"Comptoir 1 scanned prescription {scan['scan']['prescription_id']}: "
                  "dispensation opened")
    rig.scanners["Comptoir 2"].scan(ORDONNANCE, chunks=3)  # the same paper at the next counter
    table = Table(title="Scan events (server-sent, resumed with the last id seen)")
    for col in ("id", "counter", "event", "what"):
        table.add_column(col)
    flagged = set()
    for name in COUNTERS:
        for e in _events(clients[name], name, last):
            what = (f"{e['scan']['kind']} {e['scan']['text']}" if e["scan"] else
                    f"{e['alert']['reason']}: open at {e['alert']['holder']}" if e["alert"] else
                    str(e["detail"]))
            if e["type"] == "guard":
                flagged.add(name)
            table.add_row(str(e["id"]), name, e["type"], what)
    console.print(table)
    if flagged != set(COUNTERS):
        raise ScanDemoError("the second scan of the ordonnance was not flagged to both counters")
    prescription = ORDONNANCE.split(":", 1)[1]
    refused = second.post(f"/v1/ordonnances/{prescription}/finished")
    console.print(f"Comptoir 2 tries to close it: {refused.status_code} "
                  f"{refused.json()['type'].rsplit(':', 1)[-1]}")
    _check(first.post(f"/v1/ordonnances/{prescription}/finished"))
    console.print("Comptoir 1 finished the dispensation; open dispensations now: "
                  f"{len(_check(first.get('/v1/ordonnances')))}")

    console.rule("ApCV: the patient's phone QR at Comptoir 2, read through the shared CPS")
    qr = rig.double.issue("vitale-famille-martin.toml")
    last = max([e["id"] for e in _scans(second, "Comptoir 2")], default=0)
    rig.scanners["Comptoir 2"].scan(qr)
    scan = _wait_scan(second, "Comptoir 2", qr, last)
    console.print(f"Comptoir 2 scanned an ApCV code (scan {scan['id']}, {len(qr)} characters, "
                  "opaque to the box)")
    read = _check(second.post("/v1/counters/Comptoir%202/apcv/reads",
                              json={"scan_id": scan["id"], "cps_reader": cps_reader}))
    table = Table(title=f"ApCV read (source {read['source']}, same shape as a carte Vitale)")
    for col in ("beneficiary", "born", "NIR", "NIR check"):
        table.add_column(col)
    for b in read["beneficiaries"]:
        nir = b["nir"] or read["insured"]["nir"]
        table.add_row(f"{b['prenom']} {b['nom_usuel']}", b["birth_date"]["text"], nir["text"],
                      "ok" if nir["valid"] else str(nir["problem"]))
    console.print(table)
    console.print(f"signed by the CPS in {cps_reader} (assertion PS checked by xmlsec1 at the "
                  f"service: {rig.double.counters.assertions_checked} so far)")
    again = second.post("/v1/counters/Comptoir%202/apcv/reads",
                        json={"scan_id": scan["id"], "cps_reader": cps_reader})
    console.print(f"the same QR again: {again.status_code} "
                  f"{again.json().get('service_codes')} (single use)")
    _check(second.delete(f"/v1/apcv/contexts/{read['apcv_context']['id']}",
                         params={"cps_reader": cps_reader}))
    console.print("ApCV context ended (detruireContexteApCV)")
