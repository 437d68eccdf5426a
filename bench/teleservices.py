"""Téléservice figures: TLS handshake and INSi call latency in certificate mode vs CPx mode, and
the calls per second the box sustains in certificate mode against the local INSi double.

    .venv/bin/python -m bench.teleservices [--samples 30] [--handshakes 8] [--seconds 5]
                                           [--concurrency 8] [--relay-mib 1] [--relay-samples 10]

Everything runs on 127.0.0.1: the INSi double (Python ``ssl`` + ThreadingHTTPServer), stunnel
with the PKCS#11 engine and the box's ORG AUTH_CLI key in SoftHSM2 (the real path), and the
simulated CPS reached through ``CpsService`` (the shared-CPS queue) for the assertion PS.

Baseline, measured in the same run: the same double called by httpx with Python ``ssl`` and
the same certificate whose key is a *file* (what a counter PC with a PKCS#12 does today), so
the ratio shows what keeping the key in the token and going through stunnel costs.

Figures:
- full handshake: the first request on a freshly started tunnel (one ``C_Sign`` on the token);
  baseline: a new httpx client (no session reuse) per sample;
- new connection: a new client per request through a running tunnel (stunnel resumes the TLS
  session: no token signature);
- call latency on a kept-alive connection: one INSi traits search found at the first call, in
  certificate mode and in CPx mode (+ the assertion PS: one signature by the simulated card
  through the queue, with the simulator's CPS3 timing of ~300 ms per RSA operation unless
  ``--card-timing zero``);
- sustained calls/s in certificate mode with ``--concurrency`` kept-alive connections for
  ``--seconds``, and the same with the baseline client;
- the DMP relay of a TD2.1 submission (ITI-41) carrying one ``--relay-mib`` MiB document,
  through the same kind of tunnel to the DMP double: MTOM (the document as a binary
  attachment) vs plain SOAP (the same document inline in base64), each call with a fresh VIHF
  signed by ORG SIGN in SoftHSM2 and checked by the double's xmlsec1; and the box's own MIME
  work alone (``mtom.parse`` + ``mtom.serialize`` of that message, no network).
Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import ssl
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from lxml import etree

from drivers.cards.cps import CpsCard
from drivers.cards.cps_model import CpsHolder, KeyRole, Situation
from drivers.sim import testpki
from drivers.sim.cps_app import CpsApplication
from drivers.sim.cps_issue import issue_cps
from drivers.sim.services import dmp_double, dmp_lgo, insi_double
from drivers.sim.timing import Timing
from hostd.audit import AuditLog
from hostd.config import CpsSettings
from hostd.services.cps import CpsService
from hostd.services.jobs import Caller
from hostd.services.readers import ReaderHub
from hostd.teleservices import cps_assertion, dmp, insi, mtls, mtom, soap
from hostd.teleservices.ins_traits import Traits
from provisioning.ca import initialize
from provisioning.signing import vihf
from provisioning.slots import Slot

SERVER = "insi.double.test"
LPS = soap.LpsIdentity(idam="AM-TEST-0001", name="Comptoir", version="bench", instance="bench")
POLICY = soap.CallPolicy(attempts=1)
TRAITS = Traits.parse("DUPONT", "JEANNE", "F", "1950-03-15")
READER = "Sim Reader 00 00"
ATR = bytes.fromhex("3BAC00402A00122500648000031000" "9000")
CALLER = Caller("bench", "bench")
PIN = "1234"
HOLDER = CpsHolder("0012345678", "Mme", "LEFÈVRE", "Hélène", "10001234567", "Pharmacien",
                   None, (Situation(1, "Pharmacie de la Gare", "750012345", None, "Titulaire"),))


class Direct:
    def __init__(self, card: CpsApplication) -> None:
        self.card = card
        card.power_on()

    def transmit(self, apdu: bytes) -> bytes:
        return self.card.process(apdu)

    def close(self) -> None:
        self.card.power_off()


def ms(values: list[float]) -> str:
    values = sorted(values)
    p50 = statistics.median(values) * 1000
    p90 = values[min(len(values) - 1, int(len(values) * 0.9))] * 1000
    return f"p50 {p50:7.2f} ms  p90 {p90:7.2f} ms  (n={len(values)})"


class Rig:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.pki = testpki.TestPki.create()
        self.store = initialize(tmp / "state", ["localhost"])
        self.store.add_trust_anchor(testpki.cert_pem(self.pki.root.cert))
        pub = self.store.keygen(Slot.ORG_AUTH_CLI)
        cert = testpki.issue(self.pki.organisations, pub,
                             testpki.igc_sante_name("INSI-AUTO", ["3750000001"]),
                             key_usage={"digital_signature"},
                             extended_key_usage=[ExtendedKeyUsageOID.CLIENT_AUTH])
        chain = testpki.cert_pem(cert) + testpki.cert_pem(self.pki.organisations.cert)
        self.store.import_certificate(Slot.ORG_AUTH_CLI, chain)
        # Baseline identity: the same kind of certificate, key in a file.
        soft = testpki.new_rsa_key()
        soft_cert = testpki.issue(self.pki.organisations, soft.public_key(),
                                  testpki.igc_sante_name("INSI-AUTO", ["3750000001"]),
                                  key_usage={"digital_signature"},
                                  extended_key_usage=[ExtendedKeyUsageOID.CLIENT_AUTH])
        (tmp / "soft.pem").write_bytes(testpki.cert_pem(soft_cert)
                                       + testpki.cert_pem(self.pki.organisations.cert))
        (tmp / "soft.key").write_bytes(testpki.key_pem(soft))
        skey = testpki.new_rsa_key()
        scert = testpki.issue(self.pki.organisations, skey.public_key(),
                              testpki.igc_sante_name(SERVER),
                              key_usage={"digital_signature", "key_encipherment"},
                              extended_key_usage=[ExtendedKeyUsageOID.SERVER_AUTH],
                              dns_names=[SERVER])
        (tmp / "srv.pem").write_bytes(testpki.cert_pem(scert)
                                      + testpki.cert_pem(self.pki.organisations.cert))
        (tmp / "srv.key").write_bytes(testpki.key_pem(skey))
        (tmp / "root.pem").write_bytes(testpki.cert_pem(self.pki.root.cert))
        (tmp / "personnes.pem").write_bytes(testpki.cert_pem(self.pki.personnes.cert))
        (tmp / "org.pem").write_bytes(testpki.cert_pem(self.pki.organisations.cert))
        # ORG SIGN for the DMP relay's VIHF (same structure as the TLS certificate).
        sign_pub = self.store.keygen(Slot.ORG_SIGN)
        sign_cert = testpki.issue(self.pki.organisations, sign_pub,
                                  testpki.igc_sante_name("PHARMACIE BENCH", ["3750000001"]),
                                  key_usage={"digital_signature", "content_commitment"})
        self.store.import_certificate(Slot.ORG_SIGN, testpki.cert_pem(sign_cert)
                                      + testpki.cert_pem(self.pki.organisations.cert))
        self.dmp = dmp_double.DmpDouble(tmp / "root.pem", tmp / "org.pem")
        self.dmp_server = dmp_double.serve(self.dmp, tmp / "srv.pem", tmp / "srv.key",
                                           tmp / "root.pem")
        self.double = insi_double.InsiDouble(tmp / "root.pem", tmp / "personnes.pem")
        self.server = insi_double.serve(self.double, tmp / "srv.pem", tmp / "srv.key",
                                        tmp / "root.pem")
        self.endpoint = mtls.Endpoint("insi", "127.0.0.1", self.server.port, SERVER)
        self.key = mtls.store_key(self.store, Slot.ORG_AUTH_CLI)

    def tunnel(self, name: str) -> mtls.TokenTlsTunnel:
        return mtls.TokenTlsTunnel(self.tmp / name, self.key, [self.endpoint],
                                   mtls.trust_pem(self.store))

    def baseline_client(self) -> httpx.AsyncClient:
        ctx = ssl.create_default_context(cafile=str(self.tmp / "root.pem"))
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.tmp / "soft.pem", self.tmp / "soft.key")
        # Same server name check as stunnel's checkHost; loopback address for the socket.
        transport = httpx.AsyncHTTPTransport(verify=ctx, retries=0)
        return httpx.AsyncClient(transport=transport, trust_env=False,
                                 base_url=f"https://{SERVER}:{self.server.port}")

    def close(self) -> None:
        self.server.stop()
        self.dmp_server.stop()
        self.store.close()


async def search(http: httpx.AsyncClient, base: str, security: list[Any] | None = None) -> None:
    client = insi.InsiClient(soap.SoapClient(http, base, POLICY), LPS, insi_double.PATH)
    answer = await client.search_traits(TRAITS, security or [])
    assert answer.found


def timed(fn: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[float]]:
    async def run() -> float:
        start = time.perf_counter()
        await fn()
        return time.perf_counter() - start

    return run


async def sustained(make: Callable[[], httpx.AsyncClient], base: str, concurrency: int,
                    seconds: float) -> float:
    deadline = time.perf_counter() + seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        async with make() as http:
            while time.perf_counter() < deadline:
                await search(http, base)
                done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - start)


VIHF_CTX = vihf.VihfContext(
    operator_id="810001234567", operator_name="LEFEVRE Hélène",
    profession=vihf.Code("21", vihf.PROFESSION_SYSTEM, "Pharmacien"),
    cnop_section=vihf.Code("G", vihf.CNOP_SECTION_SYSTEM, "Pharmacien titulaire d'officine"),
    structure_id="3750000001", secteur_activite="SA33^1.2.250.1.71.4.2.4",
    patient_ins="284056938104286", lps_name="Comptoir", lps_version="bench",
    lps_homologation_id="DMP-TEST-0001",
)


def relay_figures(rig: Rig, mib: float, samples: int) -> dict[str, list[float]]:
    """MTOM vs plain relay of the same document, and the box's MIME work alone."""
    document = bytes(range(256)) * int(mib * 4096)  # every byte value, CR/LF included
    documents = {"Doc01": ("application/pdf", document)}
    mtom_request = dmp_lgo.iti41_mtom(documents)
    plain_request = dmp_lgo.iti41_plain(documents)
    tunnel = mtls.TokenTlsTunnel(
        rig.tmp / "dmp", rig.key,
        [mtls.Endpoint("dmp", "127.0.0.1", rig.dmp_server.port, SERVER)],
        mtls.trust_pem(rig.store))
    out: dict[str, list[float]] = {k: [] for k in (
        "mtom", "plain", "mime", "double_mtom", "double_plain", "rest_mtom", "rest_plain")}
    with tunnel:
        async def calls() -> None:
            async with tunnel.http_client("dmp") as http:
                client = dmp.DmpClient(
                    soap.SoapClient(http, tunnel.base_url("dmp"), soap.CallPolicy()),
                    lambda ctx: vihf.build_and_sign(rig.store, Slot.ORG_SIGN, ctx), "bench")
                for ctype, body in (mtom_request, plain_request):
                    answer = await client.relay("repository", ctype, body, VIHF_CTX)
                    assert answer.status == 200, answer.body[:300]
                spent = rig.dmp.counters.handle_s
                for _ in range(samples):
                    for key, (ctype, body) in (("mtom", mtom_request),
                                               ("plain", plain_request)):
                        before = spent.get(key, 0.0)
                        start = time.perf_counter()
                        answer = await client.relay("repository", ctype, body, VIHF_CTX)
                        total = time.perf_counter() - start
                        assert answer.status == 200
                        out[key].append(total)
                        out[f"double_{key}"].append(spent.get(key, 0.0) - before)
                        out[f"rest_{key}"].append(total - out[f"double_{key}"][-1])

        asyncio.run(calls())
    envelope = mtom.parse(*mtom_request).envelope
    root = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    for _ in range(samples):
        start = time.perf_counter()
        mtom.serialize(mtom.parse(*mtom_request), root)
        out["mime"].append(time.perf_counter() - start)
    out["sizes"] = [len(mtom_request[1]), len(plain_request[1])]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--handshakes", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--card-timing", choices=("realistic", "zero"), default="realistic",
                        help="simulated CPS: a CPS3's ~300 ms per signature, or none")
    parser.add_argument("--relay-mib", type=float, default=1.0,
                        help="size of the document in the DMP relay figures (MiB, ≤ 7)")
    parser.add_argument("--relay-samples", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-teleservices-") as tmp_dir:
        rig = Rig(Path(tmp_dir))
        try:
            run(rig, args)
        finally:
            rig.close()


def run(rig: Rig, args: argparse.Namespace) -> None:
    # httpx resolves SERVER: map it to loopback for the baseline only.
    real_getaddrinfo = socket.getaddrinfo

    def loopback(host: Any, *rest: Any, **kw: Any) -> Any:
        mapped = host in (SERVER, SERVER.encode())  # anyio passes the name as bytes
        return real_getaddrinfo("127.0.0.1" if mapped else host, *rest, **kw)

    socket.getaddrinfo = loopback
    base_tls = f"https://{SERVER}:{rig.server.port}"

    # Full handshakes: first request of a fresh tunnel.
    full: list[float] = []
    for i in range(args.handshakes):
        tunnel = rig.tunnel(f"hs{i}")
        with tunnel:
            async def first(t: mtls.TokenTlsTunnel = tunnel) -> float:
                async with t.http_client("insi") as http:
                    return await timed(lambda: search(http, t.base_url("insi")))()
            full.append(asyncio.run(first()))
    base_full: list[float] = []
    for _ in range(args.handshakes):
        async def first_base() -> float:
            async with rig.baseline_client() as http:
                return await timed(lambda: search(http, base_tls))()
        base_full.append(asyncio.run(first_base()))

    tunnel = rig.tunnel("main")
    tunnel.start()
    try:
        async def phases() -> dict[str, Any]:
            out: dict[str, Any] = {}
            base = tunnel.base_url("insi")
            newconn = []
            for _ in range(args.samples):
                async with tunnel.http_client("insi") as http:
                    newconn.append(await timed(lambda: search(http, base))())
            out["newconn"] = newconn
            async with tunnel.http_client("insi") as http:
                await search(http, base)
                out["cert"] = [await timed(lambda: search(http, base))()
                               for _ in range(args.samples)]
            async with rig.baseline_client() as http:
                await search(http, base_tls)
                out["base_call"] = [await timed(lambda: search(http, base_tls))()
                                    for _ in range(args.samples)]
            # CPx: the assertion PS signed by the simulated CPS through CpsService.
            timing = Timing.realistic() if args.card_timing == "realistic" else Timing.zero()
            card = CpsApplication(replace(issue_cps(rig.pki, HOLDER), pin=PIN), timing)
            hub = ReaderHub(lambda _r: Direct(card), lambda _k, t: CpsCard(t))
            # The bench unlocks through the API path (no PIN pad here), as the tests do.
            svc = CpsService(hub, AuditLog.open(rig.tmp), CpsSettings(api_pin=True), 10.0)
            hub.add_session_listener(svc.session_ended)
            hub.on_card_inserted(READER, ATR)
            try:
                await svc.unlock(READER, bytearray(PIN.encode()), CALLER)
                der = await svc.certificate(READER, KeyRole.SIGN, CALLER)
                key = cps_assertion.CpsSigningKey(
                    x509.load_der_x509_certificate(der),
                    cps_assertion.CpsQueueSigner(svc, READER, CALLER))
                ps = cps_assertion.PsIdentity("810001234567", "0123456789", "SA05")
                assertion_t: list[float] = []
                cpx: list[float] = []
                async with tunnel.http_client("insi") as http:
                    for _ in range(args.samples):
                        start = time.perf_counter()
                        assertion = await cps_assertion.make_assertion(key, ps)
                        mid = time.perf_counter()
                        await search(http, base, [assertion])
                        assertion_t.append(mid - start)
                        cpx.append(time.perf_counter() - start)
                out["assertion"], out["cpx"] = assertion_t, cpx
                out["xmlsec_ms"] = rig.double.counters.xmlsec_s / max(1, len(cpx)) * 1000
            finally:
                hub.stop()
            out["rate"] = await sustained(lambda: tunnel.http_client("insi"), base,
                                          args.concurrency, args.seconds)
            out["base_rate"] = await sustained(rig.baseline_client, base_tls,
                                               args.concurrency, args.seconds)
            return out

        r = asyncio.run(phases())
    finally:
        tunnel.stop()
        socket.getaddrinfo = real_getaddrinfo
    relay = relay_figures(rig, min(args.relay_mib, 7.0), args.relay_samples)

    print("TLS handshake + first INSi call (certificate mode)")
    print(f"  stunnel + token, full handshake   {ms(full)}")
    print(f"  baseline (key in a file), full    {ms(base_full)}")
    print(f"  stunnel, new connection (resumed) {ms(r['newconn'])}")
    print("INSi traits search on a kept-alive connection")
    print(f"  certificate mode                  {ms(r['cert'])}")
    print(f"  baseline (Python ssl, file key)   {ms(r['base_call'])}")
    print(f"  CPx mode (assertion + call)       {ms(r['cpx'])}")
    print(f"    of which assertion PS ({args.card_timing} CPS) {ms(r['assertion'])}")
    print(f"    of which the double's xmlsec1   mean {r['xmlsec_ms']:7.2f} ms (a subprocess)")
    ratio = statistics.median(r["cert"]) / statistics.median(r["base_call"])
    print(f"  certificate mode / baseline       {ratio:.2f}x")
    print(f"Sustained, {args.concurrency} connections, {args.seconds:g} s")
    print(f"  certificate mode                  {r['rate']:.0f} calls/s")
    print(f"  baseline                          {r['base_rate']:.0f} calls/s")
    print(f"  ratio                             {r['rate'] / r['base_rate']:.2f}")
    mtom_size, plain_size = relay["sizes"]
    print(f"DMP relay, TD2.1 (ITI-41) with one {min(args.relay_mib, 7.0):g} MiB document, "
          "VIHF signed per call")
    print(f"  {f'MTOM ({mtom_size / 2**20:.2f} MiB body)':<34}{ms(relay['mtom'])}")
    print(f"  {f'plain SOAP, base64 ({plain_size / 2**20:.2f} MiB)':<34}{ms(relay['plain'])}")
    mtom_plain = statistics.median(relay["mtom"]) / statistics.median(relay["plain"])
    print(f"  MTOM / plain                      {mtom_plain:.2f}x")
    print(f"    MTOM, of which the DMP double   {ms(relay['double_mtom'])}")
    print(f"    MTOM, the rest (box + tunnel)   {ms(relay['rest_mtom'])}")
    print(f"    plain, of which the DMP double  {ms(relay['double_plain'])}")
    print(f"    plain, the rest (box + tunnel)  {ms(relay['rest_plain'])}")
    print(f"  the box's MIME parse + re-emit    {ms(relay['mime'])}")
    print("  (the double decodes MTOM's MIME, puts the document back in base64 and validates the"
          " body against its schema; plain ITI-41 it only parses)")
    print(f"double: {rig.double.counters.calls} calls, "
          f"{sum(1 for q in rig.server.requests if not q.session_reused)} of the last "
          f"{len(rig.server.requests)} on full handshakes")


if __name__ == "__main__":
    main()
