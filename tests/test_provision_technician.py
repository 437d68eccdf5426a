"""Every dead end a technician met (issue 10), each answered by one line that names the fix and
a non-zero exit code; recovery from a lost token or PIN; ``doctor``; ``config init``."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID
from typer.testing import CliRunner

from drivers.sim import testpki
from drivers.sim.authority import issue_for
from hostd import config as config_mod
from hostd.cli import app
from provisioning.health import check_box, serving_problem
from provisioning.slots import Slot
from provisioning.store import Store
from tests.provision_fixtures import STRUCTURE_ID, bundle

ROOT = Path(__file__).resolve().parent.parent
COMPTOIR = [sys.executable, "-c", "from hostd.cli import main; main()"]
ORG = ["--org", "PHARMACIE DU MARCHE", "--structure-id", STRUCTURE_ID]


@pytest.fixture(scope="module")
def pki() -> testpki.TestPki:
    return testpki.TestPki.create()


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


class Cli:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0, input: str | None = None) -> tuple[str, str]:
        argv = ["provision", "--state-dir", str(self.state), *args]
        result = self.runner.invoke(app, argv, input=input)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        return result.stdout, result.stderr


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A box after the first visit (`init` + `prepare`), no trust anchor yet."""
    cli = Cli(tmp_path_factory.mktemp("box") / "state")
    cli("init", "--name", "box.local", "--name", "127.0.0.1")
    cli("prepare", *ORG, "-o", str(cli.state.parent / "order"))
    yield cli


def _csr(cli: Cli, slot: Slot) -> bytes:
    return (cli.state.parent / "order" / f"{slot.value}.csr.pem").read_bytes()


def _public(cli: Cli, slot: Slot) -> rsa.RSAPublicKey:
    key = x509.load_pem_x509_csr(_csr(cli, slot)).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def _write(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(bundle(*certs))
    return path


def test_prepare_writes_every_org_request_with_kind_usages_and_qr(box: Cli) -> None:
    order = box.state.parent / "order"
    text = (order / "ORDER.txt").read_text()
    for slot, kind, cn in (
        (Slot.ORG_AUTH_CLI, "ORG AUTH_CLI", "INSI-AUTO"),
        (Slot.ORG_SIGN, "ORG SIGN", "PHARMACIE DU MARCHE"),
        (Slot.ORG_CONF, "ORG CONF", "PHARMACIE DU MARCHE"),
    ):
        csr = x509.load_pem_x509_csr(_csr(box, slot))
        assert csr.is_signature_valid
        assert csr.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value == cn
        assert f"{kind} ({slot.value}): CN={cn}" in text
        assert (order / f"{slot.value}.csr.png").read_bytes()[:4] == b"\x89PNG"
    auth = x509.load_pem_x509_csr(_csr(box, Slot.ORG_AUTH_CLI))
    ekus = auth.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(ekus) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    conf = x509.load_pem_x509_csr(_csr(box, Slot.ORG_CONF))
    assert conf.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment
    # Running it again re-writes the same requests for the same keys (no new keys).
    before = _public(box, Slot.ORG_SIGN)
    box("prepare", *ORG, "-o", str(box.state.parent / "order"))
    assert _public(box, Slot.ORG_SIGN) == before


def test_import_refusals_name_the_next_step(box: Cli, pki: testpki.TestPki, tmp_path: Path) -> None:
    auth_key = _public(box, Slot.ORG_AUTH_CLI)
    name = testpki.igc_sante_name("INSI-AUTO", [STRUCTURE_ID])
    no_eku = testpki.issue(pki.organisations, auth_key, name, key_usage={"digital_signature"})
    f = _write(tmp_path / "no-eku.pem", no_eku, pki.organisations.cert)
    _, err = box("import", "org-auth-cli", str(f), code=4)
    assert "clientAuth" in one_error_line(err)

    wrong_cn = testpki.issue(
        pki.organisations, auth_key, testpki.igc_sante_name("PHARMACIE", [STRUCTURE_ID]),
        key_usage={"digital_signature"}, extended_key_usage=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )  # fmt: skip
    f = _write(tmp_path / "cn.pem", wrong_cn, pki.organisations.cert)
    _, err = box("import", "org-auth-cli", str(f), code=4)
    assert "INSI-AUTO or INSI-MANU" in one_error_line(err)

    _, sign_cert = issue_for(pki, _csr(box, Slot.ORG_SIGN))
    f = _write(tmp_path / "sign.pem", sign_cert, pki.organisations.cert)
    _, err = box("import", "org-auth-cli", str(f), code=4)
    assert "this certificate belongs to org-sign" in one_error_line(err)
    assert f"import org-sign {f}" in err

    root = _write(tmp_path / "root.pem", pki.root.cert)
    _, err = box("import", "org-sign", str(root), code=4)
    assert f"trust add {root}" in one_error_line(err)

    # The intermediate is in the file, the root is not trusted yet.
    _, err = box("import", "org-sign", str(f), code=4)
    line = one_error_line(err)
    assert "intermediate CN=TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS" in line
    assert "trust add" in line and "no intermediate was supplied" not in line

    csr_file = box.state.parent / "order" / "org-sign.csr.pem"
    _, err = box("import", "org-sign", str(csr_file), code=4)
    assert "certificate signing request" in one_error_line(err)
    junk = tmp_path / "notes.txt"
    junk.write_text("merci pour la commande\n")
    _, err = box("import", "org-sign", str(junk), code=4)
    assert "not a certificate: expected PEM, DER or PKCS#12" in one_error_line(err)
    _, err = box("import", "org-nothing", str(tmp_path / "absent.pem"), code=1)
    assert "unknown slot" in one_error_line(err)


def test_csr_without_key_says_keygen_and_second_init_says_server_cert(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "state")
    cli("init")
    _, err = cli("csr", "org-sign", code=1)
    assert "`comptoir provision keygen org-sign`" in one_error_line(err)
    _, err = cli("init", "--name", "192.168.1.11", code=1)
    assert "`comptoir provision server-cert --name 192.168.1.11`" in one_error_line(err)


def test_test_root_warns_and_status_wording(box: Cli, pki: testpki.TestPki, tmp_path: Path) -> None:
    root = _write(tmp_path / "root.pem", pki.root.cert)
    _, err = box("trust", "add", str(root))
    assert "is a TEST anchor" in err and "trust remove" in err
    try:
        _, sign_cert = issue_for(pki, _csr(box, Slot.ORG_SIGN))
        box("import", str(_write(tmp_path / "s.pem", sign_cert, pki.organisations.cert)))
        out, _ = box("status")
        assert "valid chain valid" not in out and "valid up to CN=TEST AC RACINE" in out
    finally:
        fp = box("trust", "list")[0].split()[0]
        box("trust", "remove", fp)


def _pty_run(argv: list[str], answer: bytes | None, timeout: float = 40) -> tuple[int, str]:
    """Runs ``argv`` on a pseudo-terminal (a technician at the console), typing ``answer``
    when the password prompt appears."""
    master, slave = pty.openpty()
    env = dict(os.environ, NO_COLOR="1", TERM="dumb")
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=ROOT,
                            start_new_session=True, env=env)  # fmt: skip
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
                if answer is not None and b"password" in seen.lower():
                    # getpass turns echo off with TCSAFLUSH, which drops input typed before:
                    # answer once the terminal stops echoing, as a person would.
                    while termios.tcgetattr(master)[3] & termios.ECHO:
                        if time.monotonic() > deadline or proc.poll() is not None:
                            break
                        time.sleep(0.05)
                    os.write(master, answer + b"\n")
                    answer = None
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=30), seen.decode(errors="replace")
    except subprocess.TimeoutExpired:
        raise AssertionError(seen.decode(errors="replace")) from None
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()


def test_pkcs12_prompts_on_a_terminal_and_refuses_in_one_line_without(
    tmp_path: Path, pki: testpki.TestPki
) -> None:
    cli = Cli(tmp_path / "state")
    cli("init")
    cli("trust", "add", str(_write(tmp_path / "root.pem", pki.root.cert)))
    key = rsa.generate_private_key(65537, 2048)
    cert = testpki.issue(
        pki.organisations, key.public_key(),
        testpki.igc_sante_name("PHARMACIE DU MARCHE", [STRUCTURE_ID]),
        key_usage={"digital_signature", "content_commitment"},
    )  # fmt: skip
    p12 = tmp_path / "org-sign.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"sign", key, cert, [pki.organisations.cert],
        serialization.BestAvailableEncryption(b"s3cret-pw")))  # fmt: skip
    argv = [*COMPTOIR, "provision", "--state-dir", str(cli.state), "import", "org-sign", str(p12)]
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          cwd=ROOT, timeout=90, check=False)  # fmt: skip
    assert done.returncode == 4
    assert "--password-file" in one_error_line(done.stderr)
    assert "Warning" not in done.stderr and "Aborted" not in done.stderr
    code, seen = _pty_run(argv, b"s3cret-pw")
    assert code == 0, seen
    assert "Imported into org-sign" in seen and "s3cret-pw" not in seen


def _serve(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMPTOIR, "serve", "--config", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=90, check=False)  # fmt: skip


def test_lost_token_recover_and_serve_refuses(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "state")
    cli("init", "--name", "box.local")
    cli("keygen", "org-sign")
    config = tmp_path / "comptoir.toml"
    CliRunner().invoke(app, ["config", "init", "-o", str(config), "--state-dir", str(cli.state),
                             "--port", "0", "--enrol-port", "0"])  # fmt: skip
    shutil.rmtree(cli.state / "token")
    _, err = cli("status", code=3)
    assert "`comptoir provision recover`" in one_error_line(err)
    _, err = cli("init", code=3)
    assert "`comptoir provision recover`" in one_error_line(err)
    done = _serve(config)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "token files" in done.stderr and "recover" in done.stderr
    out, _ = cli("recover", "--yes-destroy-all-keys")
    assert "box.local" in out and "prepare" in out
    slots = {s["slot"]: s for s in json.loads(cli("status", "--json")[0])}
    assert slots["box-lan"]["chain_state"] == "local" and not slots["org-sign"]["has_key"]
    assert serving_problem(cli.state) is None


def test_lost_pin_zeroize_then_init_and_missing_keys(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "state")
    cli("init")
    cli("keygen", "org-sign")
    old_ca = (cli.state / "tls" / "ca.pem").read_bytes()
    (cli.state / "secrets" / "token-user-pin").unlink()
    _, err = cli("keygen", "org-conf", code=3)
    assert "recover" in one_error_line(err)
    problem = serving_problem(cli.state)
    assert problem is not None and "token PIN" in problem
    cli("zeroize", "--yes-destroy-all-keys")
    cli("init")
    assert (cli.state / "tls" / "ca.pem").read_bytes() != old_ca
    cli("keygen", "org-sign")
    # Token files replaced by an empty token (restored from an old backup, say): the database
    # points at keys the token no longer has. The daemon must not claim them.
    with Store.open(cli.state) as store:
        store.token.destroy_all()
    problem = serving_problem(cli.state)
    assert problem is not None and "gone from the token" in problem and "recover" in problem
    cli("recover", "--yes-destroy-all-keys")
    assert serving_problem(cli.state) is None


def test_doctor_lists_what_is_missing_with_fixes(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "state")
    cli("init", "--name", "127.0.0.1")
    config = tmp_path / "comptoir.toml"
    result = CliRunner().invoke(app, ["config", "init", "-o", str(config), "--state-dir",
                                      str(cli.state), "--listen", "127.0.0.2"])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["doctor", "--config", str(config), "--json"])
    assert result.exit_code == 1
    verdict = json.loads(result.stdout)
    assert verdict["ready"] is False
    bad = {f["check"]: f for f in verdict["findings"] if not f["ok"]}
    assert bad["tls-names"]["fix"].startswith("comptoir provision server-cert")
    assert "127.0.0.2" in bad["tls-names"]["fix"]
    assert bad["slot:org-sign"]["fix"].startswith("comptoir provision prepare")
    assert bad["trust"]["fix"] == "comptoir provision trust add ROOT.pem"
    assert bad["clients"]["fix"] == "comptoir provision pair --count N"
    assert "daemon" in bad
    assert not any(f["blocking"] for f in bad.values())
    disk = next(f for f in verdict["findings"] if f["check"] == "disk")
    assert disk["ok"] is True and "MiB of the disk budget" in disk["message"]
    # The same check turns into a finding with its fix when the budget is nearly spent.
    from hostd.audit import AuditLog

    log = AuditLog.open(cli.state)
    log.append(client="comptoir", operator="-", action="test.fill", target="-", outcome="ok")
    log.close()
    config.write_text(config.read_text().replace("budget_mb = 1024.0", "budget_mb = 0.001", 1))
    result = CliRunner().invoke(app, ["doctor", "--config", str(config), "--json"])
    disk = next(f for f in json.loads(result.stdout)["findings"] if f["check"] == "disk")
    assert disk["ok"] is False and disk["fix"].startswith("comptoir audit export")
    # A clock before the software existed is flagged.
    from datetime import UTC, datetime

    early = check_box(cli.state, clock=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    assert any(f.check == "clock" and not f.ok for f in early)


def test_config_init_loads_back_through_the_one_reader(tmp_path: Path) -> None:
    target = tmp_path / "comptoir.toml"
    result = CliRunner().invoke(app, ["config", "init", "-o", str(target), "--listen",
                                      "192.168.1.20", "--state-dir", "/srv/comptoir"])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert text.count("\n# ") >= 5  # every setting carries its comment
    settings = config_mod.load(target)
    assert settings == config_mod.from_dict(
        {"state_dir": "/srv/comptoir", "server": {"listen": "192.168.1.20"}}
    )
    again = CliRunner().invoke(app, ["config", "init", "-o", str(target)])
    assert again.exit_code == 1 and "--force" in again.stderr


def test_import_all_places_by_key_with_the_intermediate_apart(
    tmp_path: Path, pki: testpki.TestPki
) -> None:
    cli = Cli(tmp_path / "state")
    cli("init")
    cli("prepare", *ORG, "-o", str(tmp_path / "order"))
    cli("trust", "add", str(_write(tmp_path / "root.pem", pki.root.cert)))
    files = []
    for slot in (Slot.ORG_CONF, Slot.ORG_AUTH_CLI):
        _, cert = issue_for(pki, (tmp_path / "order" / f"{slot.value}.csr.pem").read_bytes())
        files.append(_write(tmp_path / f"delivered-{slot.value[4:]}.pem", cert))
    inter = _write(tmp_path / "intermediate.pem", pki.organisations.cert)
    stranger = testpki.issue(
        pki.organisations, rsa.generate_private_key(65537, 2048).public_key(),
        testpki.igc_sante_name("PHARMACIE", [STRUCTURE_ID]), key_usage={"digital_signature"},
    )  # fmt: skip
    other = _write(tmp_path / "other-box.pem", stranger)
    out, err = cli("import", str(files[0]), str(other), str(inter), str(files[1]), code=4)
    assert f"{files[0].name} → org-conf:" in out and f"{files[1].name} → org-auth-cli:" in out
    assert "matches none of the box's keys" in one_error_line(err) and str(other) in err
    slots = {s["slot"]: s for s in json.loads(cli("status", "--json")[0])}
    assert slots["org-conf"]["chain_state"] == "valid"
    assert slots["org-sign"]["chain_state"] == "no-certificate"
