"""RSA-2048 signatures per second from the box's TPM token (tpm2-pkcs11) against SoftHSM2, in the
same run, through python-pkcs11 as the store uses it.

    .venv/bin/python -m bench.tpm_signing [--count 200] [--rounds 3] [--max-seconds 15]

The TPM is swtpm (the software TPM the boot test gives the VM) behind tpm2-abrmd on a private
D-Bus session bus: without a resource manager swtpm runs out of object slots under tpm2_ptool.
A board's discrete TPM chip is far slower than swtpm (tens of ms to a few hundred ms per RSA-2048
signature, by the chip), so the swtpm figure is the cost of the tpm2-pkcs11 + TSS stack, an
upper bound for a real box. Rounds alternate the two tokens; figures are medians. Every loop is
bounded in count and time; the helper processes are ended by their pid.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag

from bench.signing import rate
from provisioning.token import PRIVATE_KEY_POLICY, SOFTHSM_MODULE

TPM2_MODULE = "/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so"
CAPS = MechanismFlag.SIGN | MechanismFlag.VERIFY | MechanismFlag.DECRYPT | MechanismFlag.ENCRYPT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def swtpm_token(workdir: Path, pin: str) -> Iterator[dict[str, str]]:
    """swtpm + a session D-Bus + tpm2-abrmd + a tpm2-pkcs11 token; the environment to use it."""
    state = workdir / "tpm"
    store = workdir / "store"
    state.mkdir()
    store.mkdir()
    port = _free_port()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={state}",
             "--server", f"type=tcp,port={port},bindaddr=127.0.0.1",
             "--ctrl", f"type=tcp,port={port + 1},bindaddr=127.0.0.1",
             "--flags", "not-need-init,startup-clear"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        bus = workdir / "bus"
        procs.append(subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", f"--address=unix:path={bus}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while not bus.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("dbus-daemon did not start")
            time.sleep(0.05)
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=f"unix:path={bus}")
        procs.append(subprocess.Popen(
            ["tpm2-abrmd", "--session", "--allow-root",
             f"--tcti=swtpm:host=127.0.0.1,port={port}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        tcti = "tabrmd:bus_type=session"
        env |= {"TPM2_PKCS11_TCTI": tcti, "TPM2TOOLS_TCTI": tcti,
                "TPM2_PKCS11_STORE": str(store), "TPM2_PKCS11_LOG_LEVEL": "0"}
        deadline = time.monotonic() + 15
        while subprocess.run(["tpm2_getcap", "properties-fixed"], env=env,
                             capture_output=True, check=False, timeout=15).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("tpm2-abrmd did not come up")
            time.sleep(0.2)
        for args in (["init"], ["addtoken", "--pid=1", "--label=bench", f"--userpin={pin}",
                                f"--sopin={secrets.token_hex(8)}"]):
            subprocess.run(["tpm2_ptool", *args, f"--path={store}"], env=env,
                           capture_output=True, check=True, timeout=120)
        yield env
    finally:
        for proc in reversed(procs):
            _stop(proc)


def softhsm_token(workdir: Path, pin: str) -> dict[str, str]:
    tokens = workdir / "softhsm"
    tokens.mkdir()
    conf = workdir / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin", pin,
                    "--so-pin", secrets.token_hex(8)], env=env, capture_output=True,
                   check=True, timeout=60)
    return env


def signer(module: str, pin: str) -> tuple[pkcs11.Session, object]:
    session = pkcs11.lib(module).get_token(token_label="bench").open(user_pin=pin, rw=True)
    _, key = session.generate_keypair(
        KeyType.RSA, 2048, id=b"bench", label="bench", store=True, capabilities=CAPS,
        private_template=dict(PRIVATE_KEY_POLICY))
    assert key[Attribute.EXTRACTABLE] is False
    return session, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=15.0)
    args = parser.parse_args()
    pin = secrets.token_hex(8)
    with tempfile.TemporaryDirectory(prefix="bench-tpm-") as tmp, \
            swtpm_token(Path(tmp), pin) as tpm_env:
        # Both libraries read their environment at C_Initialize: set it before each loads.
        os.environ.update(tpm_env)
        tpm_session, tpm_key = signer(TPM2_MODULE, pin)
        os.environ.update(softhsm_token(Path(tmp), pin))
        soft_session, soft_key = signer(SOFTHSM_MODULE, pin)
        data = b"x" * 256
        tpm_rates: list[float] = []
        soft_rates: list[float] = []
        for _ in range(args.rounds):
            tpm_rates.append(rate(lambda _i: tpm_key.sign(  # type: ignore[attr-defined]
                data, mechanism=Mechanism.SHA256_RSA_PKCS), args.count, args.max_seconds))
            soft_rates.append(rate(lambda _i: soft_key.sign(  # type: ignore[attr-defined]
                data, mechanism=Mechanism.SHA256_RSA_PKCS), args.count, args.max_seconds))
        tpm_session.close()
        soft_session.close()
    tpm = statistics.median(tpm_rates)
    soft = statistics.median(soft_rates)
    print(f"RSA-2048 SHA256_RSA_PKCS, median of {args.rounds} rounds of <= {args.count}:")
    print(f"  SoftHSM2 2.6 (baseline)          {soft:8.1f} sig/s  {1000 / soft:7.2f} ms")
    print(f"  tpm2-pkcs11 1.9 + swtpm + abrmd  {tpm:8.1f} sig/s  {1000 / tpm:7.2f} ms")
    print(f"  TPM / SoftHSM2 rate ratio        {tpm / soft:8.3f}  (x{soft / tpm:.1f} slower)")


if __name__ == "__main__":
    main()
