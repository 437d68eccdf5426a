"""The box image, booted: QEMU (tests/vm_support.py), swtpm as the TPM, restricted user
networking, checked from outside as a counter PC and the technician would.

One boot does the technician's provisioning and every check; a second boot follows a power cut
(QEMU killed) during signing. The tests run in file order and share the VM (module fixture).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import resource
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from drivers.sim import testpki
from provisioning.slots import Slot
from tests.provision_fixtures import org_certificate
from tests.vm_support import Vm, build_image

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

BOOT_LIMIT_S = 600  # power on -> console shell / comptoir.service active (TCG, loaded 2 cores)
OPERATOR = {"X-Comptoir-Operator": "Mme Test (technicienne)"}
CUT_OPERATOR_NAME = "power-cut loop"
CUT_OPERATOR = {"X-Comptoir-Operator": CUT_OPERATOR_NAME}
ENV = (
    "-p User=comptoir -p Group=comptoir -p SupplementaryGroups=tss "
    "-p LoadCredentialEncrypted=comptoir-token-pin:"
    "/var/lib/comptoir/credstore/comptoir-token-pin.cred "
    "-E COMPTOIR_PKCS11_MODULE=/usr/lib/comptoir/pkcs11-module.so -E COMPTOIR_TOKEN_LABEL=comptoir "
    "-E TPM2_PKCS11_STORE=/var/lib/comptoir/tpm2-pkcs11 -E TPM2_PKCS11_TCTI=device:/dev/tpmrm0 "
    "-E TPM2_PKCS11_LOG_LEVEL=0"
)
FIGURES: dict[str, object] = {}

# Run inside the VM as the daemon's user with the daemon's key store: every private key in the
# TPM token is sensitive and non-extractable, and reading or wrapping its value fails.
KEYCHECK = """
import os, pkcs11
from pkcs11 import Attribute as A, ObjectClass
pin = open(os.path.join(os.environ["CREDENTIALS_DIRECTORY"], "comptoir-token-pin")).read().strip()
lib = pkcs11.lib(os.environ["COMPTOIR_PKCS11_MODULE"])
with lib.get_token(token_label="comptoir").open(user_pin=pin) as s:
    keys = list(s.get_objects({A.CLASS: ObjectClass.PRIVATE_KEY}))
    print("keys", len(keys))
    for k in keys:
        print("key", k[A.LABEL], "sensitive", k[A.SENSITIVE], "extractable", k[A.EXTRACTABLE])
        try:
            k[A.PRIVATE_EXPONENT]
            print("LEAK private exponent readable")
        except pkcs11.PKCS11Error as exc:
            print("exponent refused", type(exc).__name__)
"""

# Every compiled extension of the venv imports under the unit's W^X rule.
EXTCHECK = """
import importlib, pathlib, sys, sysconfig
site = pathlib.Path(sysconfig.get_paths()["purelib"])
bad = []
n = 0
for so in sorted(site.rglob("*.so")):
    rel = so.relative_to(site)
    if ".libs" in rel.parts[0] or rel.parts[0].endswith(".libs"):
        continue
    mod = ".".join(rel.parts[:-1] + (rel.name.split(".")[0],))
    try:
        importlib.import_module(mod)
    except Exception as exc:
        # A package may load its extension itself under another name (cv2/__init__.py loads
        # cv2/cv2.abi3.so as `cv2`; importing `cv2.cv2` is refused by its bindings): then the
        # package's import is the one that loads it, and the library must be mapped after it.
        try:
            importlib.import_module(mod.split(".")[0])
        except Exception as exc2:
            bad.append(f"{mod}: {type(exc2).__name__}: {exc2}")
            continue
        with open("/proc/self/maps") as maps:
            if not any(line.rstrip().endswith(str(so)) for line in maps):
                bad.append(f"{mod}: {type(exc).__name__}: {exc}")
                continue
    n += 1
print("loaded", n)
for b in bad:
    print("FAILED", b)
"""


@pytest.fixture(scope="module")
def image() -> Path:
    disk, seconds = build_image()
    FIGURES["build_or_cache_s"] = round(seconds, 1)
    info = dict(
        line.split("=", 1) for line in (disk.parent / "build-info").read_text().splitlines()
    )
    FIGURES["image"] = info
    return disk


LOG_DIR = Path(os.environ.get("COMPTOIR_VM_LOGS", "/var/tmp/comptoir-vm-logs"))
"""The last run's console, QEMU and swtpm logs, kept after the VM's work directory is gone."""


def keep_logs(workdir: Path) -> None:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for log in workdir.glob("*.log"):
        shutil.copyfile(log, LOG_DIR / log.name)
    print(f"\nVM logs kept in {LOG_DIR}")


@pytest.fixture(scope="module")
def vm(image: Path) -> Iterator[Vm]:
    with tempfile.TemporaryDirectory(prefix="comptoir-vm-") as tmp:
        machine = Vm(image, Path(tmp))
        started = time.monotonic()
        machine.prepare()
        machine.boot()
        try:
            assert machine.console is not None
            machine.console.login(timeout_s=BOOT_LIMIT_S)
            FIGURES["boot_to_console_s"] = round(time.monotonic() - machine.started_at, 1)
            yield machine
        finally:
            machine.stop()
            keep_logs(Path(tmp))
            # CPU seconds of the reaped children (QEMU's emulation, swtpm, the build if it ran):
            # on a shared machine the wall time mostly says how loaded it was, this does not.
            used = resource.getrusage(resource.RUSAGE_CHILDREN)
            FIGURES["children_cpu_s"] = round(used.ru_utime + used.ru_stime, 1)
            FIGURES["vm_wall_s"] = round(time.monotonic() - started, 1)
            print("\nimage boot figures:", json.dumps(FIGURES, indent=1))


@pytest.fixture(scope="module")
def pki() -> testpki.TestPki:
    return testpki.TestPki.create()


def sh(vm: Vm, command: str, timeout_s: float = 120) -> str:
    assert vm.console is not None
    return vm.console.check(command, timeout_s)


def run(vm: Vm, command: str, timeout_s: float = 120) -> tuple[int, str]:
    assert vm.console is not None
    return vm.console.run(command, timeout_s)


def tls_handshake(port: int, context: ssl.SSLContext | None = None) -> bytes | None:
    """The server certificate (DER) if a TLS handshake completes on 127.0.0.1:port, else None
    (refused, reset, closed or silent: the firewall dropped it or nothing listens)."""
    if context is None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw) as tls,
        ):
            return tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None


def api_answers_without_certificate(port: int) -> bool:
    """Whether an HTTP request over TLS without a client certificate gets an answer (TLS 1.3
    completes the client's handshake before the server checks the certificate, so the refusal
    shows on the first read)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw) as tls,
        ):
            tls.sendall(b"GET /v1/status HTTP/1.1\r\nHost: box\r\n\r\n")
            return tls.recv(100) != b""
    except (OSError, ssl.SSLError):
        return False


def wait_handshake(port: int, timeout_s: float, context: ssl.SSLContext | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while tls_handshake(port, context) is None:
        assert time.monotonic() < deadline, f"no TLS on forwarded port {port} in {timeout_s} s"
        time.sleep(1)


DIAGNOSIS = (
    "systemctl --no-pager --failed",
    "systemctl --no-pager status comptoir.service comptoir-firewall.service | head -40",
    "journalctl --no-pager -b -u comptoir.service | tail -60",
    "nft list ruleset | head -60",
    "ls -la /var/lib/comptoir /etc/comptoir",
)


def what_the_box_says(vm: Vm) -> str:
    """The box's own account of a failed check, read over the console (the VM's work directory
    is removed with the fixture): what a technician would look at first."""
    parts = []
    for command in DIAGNOSIS:
        try:
            parts.append(f"$ {command}\n{run(vm, command, 120)[1]}")
        except Exception as exc:  # a diagnosis must never hide the failure it explains
            parts.append(f"$ {command}\n(not read: {exc})")
    return "\n".join(parts)


def wait_active(vm: Vm, unit: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while run(vm, f"systemctl -q is-active {unit}")[0] != 0:
        if time.monotonic() > deadline:
            raise AssertionError(sh(vm, f"systemctl status --no-pager {unit} | tail -20"))
        time.sleep(1)


# -- 1. first boot: what the box shows and what it contains ------------------------------------


def test_first_boot_shows_what_is_left_to_do(vm: Vm) -> None:
    wait_active(vm, "comptoir-firewall.service", 60)
    sh(vm, "systemctl start comptoir-todo.service")
    todo = sh(vm, "cat /run/comptoir/todo.txt")
    assert "comptoir provision init" in todo, todo
    assert "[ ] daemon not running" in todo
    # The configuration was provisioned at first boot on the writable partition.
    assert "listen" in sh(vm, "cat /etc/comptoir/comptoir.toml")
    # A bind mount of /var/etc/comptoir: findmnt shows the /var partition and the sub-path.
    bind = sh(vm, "findmnt -no SOURCE /etc/comptoir").strip()
    assert bind == sh(vm, "findmnt -no SOURCE /var").strip() + "[/etc/comptoir]", bind
    # Not provisioned: the daemon waits (condition), nothing listens yet.
    assert "ConditionResult=no" in sh(vm, "systemctl show -p ConditionResult comptoir.service")
    assert tls_handshake(vm.port(8443)) is None


def test_root_filesystem_is_read_only_and_state_on_its_own_partitions(vm: Vm) -> None:
    assert "ro" in sh(vm, "findmnt -no OPTIONS /").split(",")
    code, out = run(vm, "touch /usr/lib/comptoir/x")
    assert code != 0 and "Read-only file system" in out
    code, _ = run(vm, "touch /etc/x")
    assert code != 0
    assert sh(vm, "findmnt -no SOURCE /var") != sh(vm, "findmnt -no SOURCE /")
    assert "comptoir-state" in sh(vm, "findmnt -no PARTLABEL /var/lib/comptoir")
    sh(vm, "touch /var/lib/comptoir/.w && rm /var/lib/comptoir/.w")
    # Journal: persistent on /var, capped.
    assert "/var/log/journal" in sh(vm, "journalctl --header | grep 'File path' | head -1")
    assert "SystemMaxUse=64M" in sh(vm, "cat /etc/systemd/journald.conf.d/comptoir.conf")


def test_image_contains_no_simulator_test_pki_or_compiler(vm: Vm) -> None:
    for tool in ("gcc", "cc", "c++", "clang", "tcc", "as", "ld", "make", "sshd", "vpcd"):
        assert run(vm, f"command -v {tool}")[0] != 0, tool
    packages = sh(vm, "dpkg-query -W -f='${Package}\\n'").split()
    for banned in ("vsmartcard-vpcd", "softhsm2", "gcc", "cpp", "openssh-server", "opensc",
                   "binutils", "libc6-dev", "python3-dev"):
        assert banned not in packages, banned
    assert "libccid" in packages and "pcscd" in packages and "nftables" in packages
    found = sh(vm, "find / -xdev \\( -name 'libifdvpcd*' -o -name 'testpki*' -o -name '*.key.pem' "
                   "-o -path '*drivers/sim*' -o -name 'demo_cards*' \\) -print")
    assert found.strip() == "", found
    sh(vm, "test -x /opt/comptoir/.venv/bin/comptoir")


def test_time_from_ntp_with_a_warning_when_not_synchronised(vm: Vm) -> None:
    # The VM's network is restricted: no NTP answer can come, so the box must warn.
    assert "active" in sh(vm, "systemctl is-active systemd-timesyncd")
    sh(vm, "systemctl start comptoir-clock-check.service")
    warning = sh(vm, "cat /run/comptoir/clock-warning")
    assert "not synchronised" in warning


# -- 2. provisioning by the technician, on the console ------------------------------------------


def test_provisioning_makes_keys_in_the_tpm_that_cannot_leave(vm: Vm) -> None:
    out = sh(vm, "comptoir provision init --name comptoir.local --name 10.0.2.15", 300)
    assert "token: created in the TPM" in out, out
    # The PIN is on disk only as a TPM-sealed credential.
    cred = sh(vm, "head -c 64 /var/lib/comptoir/credstore/comptoir-token-pin.cred | base64")
    assert cred.strip()
    assert run(vm, "test -e /var/lib/comptoir/secrets/token-user-pin")[0] != 0
    sh(vm, "comptoir provision keygen org-sign", 300)
    assert vm.console is not None
    vm.console.write_file("/tmp/keycheck.py", KEYCHECK.encode())
    out = sh(vm, f"systemd-run --quiet --wait --pipe --collect {ENV} "
                 "/opt/comptoir/.venv/bin/python /tmp/keycheck.py", 300)
    keys = re.findall(r"^key (\S+) sensitive (\S+) extractable (\S+)$", out, re.M)
    assert len(keys) >= 2, out  # the local CA (box-lan) and org-sign
    assert all(s == "True" and e == "False" for _, s, e in keys), out
    assert "LEAK" not in out and out.count("exponent refused") == len(keys), out
    wait_active(vm, "comptoir.service", 120)


def test_org_certificate_imported_through_the_technician_commands(
    vm: Vm, pki: testpki.TestPki
) -> None:
    csr_pem = sh(vm, "comptoir provision csr org-sign --cn 'PHARMACIE DU MARCHE' "
                     "--org 'PHARMACIE DU MARCHE' --structure-id 3750000001", 300)
    block = re.search(r"-----BEGIN CERTIFICATE REQUEST-----.*?-----END CERTIFICATE REQUEST-----",
                      csr_pem, re.S)
    assert block, csr_pem
    csr = x509.load_pem_x509_csr(block.group(0).encode())
    cert = org_certificate(pki, csr.public_key(), Slot.ORG_SIGN)  # type: ignore[arg-type]
    assert vm.console is not None
    vm.console.write_file("/tmp/root.pem", testpki.cert_pem(pki.root.cert))
    vm.console.write_file(
        "/tmp/org-sign.pem", testpki.cert_pem(cert) + testpki.cert_pem(pki.organisations.cert)
    )
    sh(vm, "comptoir provision trust add /tmp/root.pem", 300)
    sh(vm, "comptoir provision import org-sign /tmp/org-sign.pem", 300)
    todo = sh(vm, "/usr/lib/comptoir/comptoir-todo", 300)
    assert "[x] org-sign certificate" in todo, todo


# -- 3. hardening of the running unit -----------------------------------------------------------


def test_unit_exposure_inside_the_vm_with_the_unit_running(vm: Vm) -> None:
    wait_active(vm, "comptoir.service", 60)
    out = sh(vm, "systemd-analyze security --no-pager comptoir.service | tail -1")
    level = re.search(r"Overall exposure level for comptoir.service: ([0-9.]+)", out)
    assert level, out
    FIGURES["systemd_analyze_security"] = float(level.group(1))
    assert float(level.group(1)) <= 2.0
    assert "MemoryDenyWriteExecute=yes" in sh(
        vm, "systemctl show -p MemoryDenyWriteExecute comptoir.service")
    rss = sh(vm, "ps -o rss= -p $(systemctl show -p MainPID --value comptoir.service)")
    FIGURES["daemon_rss_kib"] = int(rss.strip())


def test_every_python_extension_loads_under_memory_deny_write_execute(vm: Vm) -> None:
    assert vm.console is not None
    vm.console.write_file("/tmp/extcheck.py", EXTCHECK.encode())
    out = sh(vm, f"systemd-run --quiet --wait --pipe --collect {ENV} "
                 "-p MemoryDenyWriteExecute=yes -p SystemCallFilter=@system-service "
                 "-p SystemCallArchitectures=native -p LockPersonality=yes "
                 "/opt/comptoir/.venv/bin/python /tmp/extcheck.py", 300)
    loaded = re.search(r"loaded (\d+)", out)
    assert loaded and int(loaded.group(1)) >= 5, out
    assert "FAILED" not in out, out


# -- 4. a counter enrols through the forwarded port and signs with the store -------------------


class Counter:
    """A LAN client of the box (a counter PC, or the technician's admin laptop)."""

    def __init__(self, name: str = "Comptoir 1") -> None:
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.dir = Path(tempfile.mkdtemp(prefix="counter-"))
        self.cert_pem = b""
        self.ca_pem = b""

    def csr_pem(self) -> str:
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.name)]))
            .sign(self.key, hashes.SHA256())
        )
        return csr.public_bytes(serialization.Encoding.PEM).decode()

    def enrol(self, port: int, code: str) -> None:
        answer = httpx.post(
            f"https://127.0.0.1:{port}/v1/enrol",
            json={"code": code, "csr_pem": self.csr_pem()},
            verify=False, timeout=60,  # first contact; the CA is pinned from here on
        )
        assert answer.status_code == 200, answer.text
        self.cert_pem = answer.json()["certificate_pem"].encode()
        self.ca_pem = answer.json()["ca_pem"].encode()

    def context(self) -> ssl.SSLContext:
        (self.dir / "cert.pem").write_bytes(self.cert_pem)
        (self.dir / "key.pem").write_bytes(self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        (self.dir / "ca.pem").write_bytes(self.ca_pem)
        context = ssl.create_default_context(cafile=str(self.dir / "ca.pem"))
        context.check_hostname = False  # the CA is pinned; the box's names are LAN names
        context.load_cert_chain(self.dir / "cert.pem", self.dir / "key.pem")
        return context


@pytest.fixture(scope="module")
def counter() -> Counter:
    return Counter()


def test_enrolment_port_opens_only_with_a_pairing_code(vm: Vm, counter: Counter) -> None:
    """8444 opens for a code made on the console (`comptoir provision pair`, here the
    technician's admin laptop) and for one made by the daemon through the admin API (here the
    counter's): the daemon cannot touch the firewall, the box's path unit does it for it."""
    wait_handshake(vm.port(8443), BOOT_LIMIT_S)  # the daemon listens (it may still be starting)
    assert not api_answers_without_certificate(vm.port(8443))  # client certificate required
    assert tls_handshake(vm.port(8444)) is None  # no window open: dropped
    out = sh(vm, "comptoir provision pair --name 'Technicienne' --role admin --ttl 300", 300)
    code = re.findall(r"\b([0-9A-Z]{5}-[0-9A-Z]{5})\b", out)
    assert code, out
    assert "enrolment port 8444 open" in out
    wait_handshake(vm.port(8444), 60)
    admin = Counter("Technicienne")
    admin.enrol(vm.port(8444), code[-1])
    # The box's server certificate chains to the CA it handed out.
    assert tls_handshake(vm.port(8443), admin.context()) is not None
    sh(vm, "/usr/lib/comptoir/comptoir-firewall close-enrolment")
    assert tls_handshake(vm.port(8444)) is None

    with httpx.Client(verify=admin.context(), timeout=60) as http:
        answer = http.post(
            f"https://127.0.0.1:{vm.port(8443)}/v1/admin/pairing-codes",
            json={"name": counter.name, "role": "counter", "ttl_s": 300}, headers=OPERATOR,
        )
    assert answer.status_code == 200, answer.text
    wait_handshake(vm.port(8444), 120)
    counter.enrol(vm.port(8444), answer.json()["code"])
    assert tls_handshake(vm.port(8443), counter.context()) is not None
    sh(vm, "/usr/lib/comptoir/comptoir-firewall close-enrolment")
    assert tls_handshake(vm.port(8444)) is None


def test_counter_signs_with_the_store_and_openssl_verifies(vm: Vm, counter: Counter) -> None:
    data = b"ordonnance 2026-12-01 n 42"
    with httpx.Client(verify=counter.context(), timeout=60) as http:
        answer = http.post(
            f"https://127.0.0.1:{vm.port(8443)}/v1/store/sign/raw",
            json={"key": "org-sign", "data_b64": base64.b64encode(data).decode()},
            headers=OPERATOR,
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    cert = x509.load_pem_x509_certificate(body["certificate_pem"].encode())
    (counter.dir / "data").write_bytes(data)
    (counter.dir / "sig").write_bytes(base64.b64decode(body["signature_b64"]))
    (counter.dir / "pub.pem").write_bytes(cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    verify = ["openssl", "dgst", "-sha256", "-verify", str(counter.dir / "pub.pem"),
              "-signature", str(counter.dir / "sig")]
    done = subprocess.run([*verify, str(counter.dir / "data")], capture_output=True, timeout=30)
    assert done.returncode == 0 and b"Verified OK" in done.stdout
    (counter.dir / "data").write_bytes(data + b"!")
    assert subprocess.run([*verify, str(counter.dir / "data")], capture_output=True,
                          timeout=30).returncode != 0


def test_only_the_api_port_answers(vm: Vm) -> None:
    for guest in (22, 80, 443, 5355, 8080, 8444):
        assert tls_handshake(vm.port(guest)) is None, guest
        with socket.create_connection(("127.0.0.1", vm.port(guest)), timeout=5) as s:
            s.settimeout(5)
            try:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                assert s.recv(100) == b"", guest
            except OSError:
                pass
    # Inside: nothing listens on the network but the daemon (loopback aside).
    listening = sh(vm, "ss -Htlnu | awk '{print $1, $5}'")
    exposed = [line for line in listening.splitlines()
               if not re.search(r"(127\.0\.0\.\d+|\[::1\]|%lo):\d+$", line)]
    ports = sorted({line.rsplit(":", 1)[1] for line in exposed if line.startswith("tcp")})
    assert ports == ["8443", "8444"], listening
    # A LAN range that excludes the counter closes 8443 for it too.
    sh(vm, "cp /etc/comptoir/firewall.toml /tmp/fw.toml && "
           "echo 'lan = [\"192.168.77.0/24\"]' > /etc/comptoir/firewall.toml && "
           "/usr/lib/comptoir/comptoir-firewall apply")
    try:
        assert tls_handshake(vm.port(8443)) is None
    finally:
        sh(vm, "cp /tmp/fw.toml /etc/comptoir/firewall.toml && "
               "/usr/lib/comptoir/comptoir-firewall apply")


# -- 5. power cut during signing ----------------------------------------------------------------


def test_power_cut_during_signing_loses_no_acknowledged_audit_row(
    vm: Vm, counter: Counter
) -> None:
    acknowledged: list[str] = []
    stop = threading.Event()

    def sign_loop() -> None:
        with httpx.Client(verify=counter.context(), timeout=30) as http:
            for i in range(10_000):
                if stop.is_set():
                    return
                digest = hashlib.sha256(f"power-cut {i}".encode()).digest()
                try:
                    answer = http.post(
                        f"https://127.0.0.1:{vm.port(8443)}/v1/store/sign/raw",
                        json={"key": "org-sign", "digest_b64": base64.b64encode(digest).decode()},
                        headers=CUT_OPERATOR,
                    )
                except httpx.HTTPError:
                    return
                if answer.status_code == 200:
                    acknowledged.append(digest.hex())

    worker = threading.Thread(target=sign_loop)
    worker.start()
    deadline = time.monotonic() + 300
    while len(acknowledged) < 8 and time.monotonic() < deadline and worker.is_alive():
        time.sleep(0.05)
    vm.power_cut()  # mid-request: the loop is still signing
    stop.set()
    worker.join(timeout=60)
    assert len(acknowledged) >= 8, "signing too slow or failing before the cut"
    FIGURES["acknowledged_before_cut"] = len(acknowledged)

    vm.boot()
    assert vm.console is not None
    vm.console.login(timeout_s=BOOT_LIMIT_S)
    deadline = time.monotonic() + BOOT_LIMIT_S
    while tls_handshake(vm.port(8443), counter.context()) is None:
        if time.monotonic() > deadline:
            pytest.fail("the box did not come back to service:\n" + what_the_box_says(vm))
        time.sleep(0.5)
    FIGURES["boot_to_service_s"] = round(time.monotonic() - vm.started_at, 1)

    rows = [json.loads(line) for line in sh(vm, "comptoir audit export", 300).splitlines()
            if line.startswith("{")]
    # The daemon's row for a store signature names the operator, not the digest: the loop's
    # requests carry their own operator, so its rows are exactly these.
    audited = [r for r in rows
               if r["action"] == "store.sign.raw" and r["operator"] == CUT_OPERATOR_NAME]
    assert len(audited) >= len(acknowledged), (len(audited), len(acknowledged))
    assert "OK" in sh(vm, "comptoir audit verify", 300)
    # The keys survived: the same certificate signs again.
    with httpx.Client(verify=counter.context(), timeout=60) as http:
        answer = http.post(
            f"https://127.0.0.1:{vm.port(8443)}/v1/store/sign/raw",
            json={"key": "org-sign", "data_b64": base64.b64encode(b"after").decode()},
            headers=OPERATOR,
        )
    assert answer.status_code == 200, answer.text
