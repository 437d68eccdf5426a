"""Signing throughput of the key store, measured against bare python-pkcs11 in the same run.

    .venv/bin/python -m bench.signing [--count 300] [--rounds 5] [--max-seconds 20]

Prints signatures per second for: RSA-2048 PKCS#1 v1.5 through python-pkcs11 directly (the
baseline), through ``Store.sign`` (lock, slot lookup in SQLite, audit hook), VIHF build + sign,
VIHF verify in-process (signxml; xmlsec1 is only used by the tests, it is a subprocess), and the
store's overhead as a ratio to the baseline. Each figure is the median of ``--rounds`` rounds,
baseline and store interleaved so machine noise hits both alike. Every loop is bounded in
count and in time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from pkcs11 import Mechanism

from drivers.sim import testpki
from provisioning.ca import initialize
from provisioning.signing import vihf, xmldsig
from provisioning.slots import Slot
from provisioning.store import Store


def rate(fn: Callable[[int], object], count: int, max_seconds: float) -> float:
    """Calls ``fn(i)`` up to ``count`` times or until ``max_seconds``; returns calls/s."""
    start = time.perf_counter()
    done = 0
    deadline = start + max_seconds
    while done < count and time.perf_counter() < deadline:
        fn(done)
        done += 1
    return done / (time.perf_counter() - start)


def context() -> vihf.VihfContext:
    return vihf.VihfContext(
        operator_id="810100000001",
        operator_name="MARTIN CLAIRE",
        profession=vihf.Code("21", vihf.PROFESSION_SYSTEM, "Pharmacien"),
        cnop_section=vihf.Code("A", vihf.CNOP_SECTION_SYSTEM, "Pharmacien titulaire d'officine"),
        structure_id="3750000001",
        secteur_activite="SA33^1.2.250.1.71.4.2.4",
        patient_ins="279035121518989",
        lps_name="Comptoir",
        lps_version="bench",
        lps_homologation_id="TEST-BENCH",
    )


def prepare(state: Path) -> tuple[Store, bytes]:
    pki = testpki.TestPki.create()
    store = initialize(state, ["localhost"])
    store.add_trust_anchor(testpki.cert_pem(pki.root.cert))
    pub = store.keygen(Slot.ORG_SIGN)
    cert = testpki.issue(
        pki.organisations,
        pub,
        testpki.igc_sante_name("BENCH", ["3750000001"]),
        key_usage={"digital_signature", "content_commitment"},
    )
    store.import_certificate(
        Slot.ORG_SIGN, testpki.cert_pem(cert) + testpki.cert_pem(pki.organisations.cert)
    )
    return store, cert.public_bytes(serialization.Encoding.PEM)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=300, help="operations per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-seconds", type=float, default=20.0, help="cap per round")
    args = parser.parse_args()
    count, rounds, cap = max(1, args.count), max(1, min(args.rounds, 50)), args.max_seconds

    with tempfile.TemporaryDirectory(prefix="comptoir-bench-") as tmp:
        store, cert_pem = prepare(Path(tmp) / "state")
        audited: list[object] = []
        try:
            row = store.db.rows(
                "SELECT active_key_id FROM slots WHERE slot = ?", (Slot.ORG_SIGN.value,)
            )[0]
            bare_key = store.token.private_key(bytes.fromhex(row["active_key_id"]))
            payloads = [f"message {i}".encode() for i in range(count)]
            ctx = context()
            sample = vihf.build_and_sign(store, Slot.ORG_SIGN, ctx)
            # The store as the daemon runs it: with an audit hook (here: append to a list).
            audited_store = Store.open(
                Path(tmp) / "state", audit=lambda e, d: audited.append((e, d))
            )

            bare, via_store, build_sign, verify = [], [], [], []
            for _ in range(rounds):
                bare.append(
                    rate(
                        lambda i: bare_key.sign(payloads[i], mechanism=Mechanism.SHA256_RSA_PKCS),
                        count,
                        cap,
                    )
                )
                via_store.append(
                    rate(lambda i: audited_store.sign(Slot.ORG_SIGN, payloads[i]), count, cap)
                )
                build_sign.append(
                    rate(
                        lambda i: vihf.build_and_sign(store, Slot.ORG_SIGN, ctx),
                        max(1, count // 3),
                        cap,
                    )
                )
                verify.append(
                    rate(
                        lambda i: xmldsig.verify(sample, cert_pem, id_attribute="ID"),
                        max(1, count // 3),
                        cap,
                    )
                )
            audited_store.close()
        finally:
            store.close()

    med = statistics.median
    print(f"rounds: {rounds}, up to {count} signatures per round (median shown)")
    print(f"RSA-2048 sign, bare python-pkcs11 (baseline): {med(bare):8.1f} /s")
    print(f"RSA-2048 sign, Store.sign + audit hook:       {med(via_store):8.1f} /s")
    print(f"VIHF build + sign (RSA-SHA256):               {med(build_sign):8.1f} /s")
    print(f"VIHF verify in-process (signxml):             {med(verify):8.1f} /s")
    overhead = med(bare) / med(via_store)
    per_call_us = (1 / med(via_store) - 1 / med(bare)) * 1e6
    print(
        f"store overhead: x{overhead:.3f} of the bare sign time "
        f"({per_call_us:+.0f} µs per signature)"
    )
    print(f"audit events recorded: {len(audited)}")


if __name__ == "__main__":
    main()
