"""Runs the INSi and DMP doubles on 127.0.0.1 for the demo and for manual tries.

    python -m drivers.sim.services.run --pki DIR --work DIR [--insi-port N] [--dmp-port N]

``--pki`` is a TEST PKI directory (``TestPki.save``: root, personnes, organisations with their
keys); the doubles' server certificates (``insi.double.test``, ``dmp.double.test``) are issued
from it into ``--work``. Prints one ready line per double, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from pathlib import Path

from cryptography.x509.oid import ExtendedKeyUsageOID

from drivers.sim import testpki
from drivers.sim.services import dmp_double, insi_double
from drivers.sim.services.https import HttpsDouble

INSI_NAME = "insi.double.test"
DMP_NAME = "dmp.double.test"


def server_files(pki: testpki.TestPki, work: Path, name: str) -> tuple[Path, Path]:
    """A TEST IGC-Santé server certificate for ``name`` (chain file, key file)."""
    key = testpki.new_rsa_key()
    cert = testpki.issue(
        pki.organisations, key.public_key(), testpki.igc_sante_name(name),
        key_usage={"digital_signature", "key_encipherment"},
        extended_key_usage=[ExtendedKeyUsageOID.SERVER_AUTH], dns_names=[name],
    )
    chain, key_file = work / f"{name}.chain.pem", work / f"{name}.key.pem"
    chain.write_bytes(testpki.cert_pem(cert) + testpki.cert_pem(pki.organisations.cert))
    key_file.write_bytes(testpki.key_pem(key))
    key_file.chmod(0o600)
    return chain, key_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pki", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--insi-port", type=int, default=0)
    parser.add_argument("--dmp-port", type=int, default=0)
    args = parser.parse_args()
    pki = testpki.TestPki.load(args.pki)
    args.work.mkdir(parents=True, exist_ok=True)
    root = args.work / "test-root.pem"
    root.write_bytes(testpki.cert_pem(pki.root.cert))
    personnes = args.work / "test-personnes.pem"
    personnes.write_bytes(testpki.cert_pem(pki.personnes.cert))
    organisations = args.work / "test-organisations.pem"
    organisations.write_bytes(testpki.cert_pem(pki.organisations.cert))
    chain, key = server_files(pki, args.work, INSI_NAME)
    insi = insi_double.InsiDouble(root, personnes)
    insi_server = HttpsDouble(insi.handle, chain, key, root, port=args.insi_port)
    chain, key = server_files(pki, args.work, DMP_NAME)
    dmp = dmp_double.DmpDouble(root, organisations)
    dmp_server = HttpsDouble(dmp.handle, chain, key, root, port=args.dmp_port)
    insi_server.start()
    dmp_server.start()
    print(f"INSi double: https://127.0.0.1:{insi_server.port}{insi_double.PATH} "
          f"({INSI_NAME})", flush=True)
    print(f"DMP double: https://127.0.0.1:{dmp_server.port}{dmp_double.SERVICE_ROOT} "
          f"({DMP_NAME})", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    insi_server.stop()
    dmp_server.stop()


if __name__ == "__main__":
    main()
