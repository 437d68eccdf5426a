"""Revocation bites on the next request, whoever revokes: the daemon caches client lookups
(hostd.provisioned.RegistryClients), and these tests pin that the cache never outlives a change
of the registry — not a revoke through the admin API, not one from ``comptoir provision`` in
another process, not an enrolment of a certificate first seen unknown."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from drivers.sim import testpki
from hostd.auth import fingerprint
from provisioning.clients import ClientRegistry
from tests.hostd_support import Daemon, start_daemon

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: object) -> Iterator[Daemon]:
    d = start_daemon(tmp_path_factory.mktemp("hostd-revocation"), watcher=False)
    try:
        yield d
    finally:
        d.stop()


def client_id(daemon: Daemon, name: str) -> int:
    with ClientRegistry(daemon.state) as registry:
        return next(c.id for c in registry.list() if c.name == name and c.active)


def assert_revoked(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json()["type"] == "urn:comptoir:problem:client-revoked"


def test_revocation_by_the_provisioning_cli_bites_on_the_open_connection(
    daemon: Daemon,
) -> None:
    http = daemon.client("Comptoir CLI")
    for _ in range(3):  # the lookup is cached now
        assert http.get("/v1/readers").status_code == 200
    done = subprocess.run(
        [sys.executable, "-c", "from hostd.cli import main; main()", "provision",
         "--state-dir", str(daemon.state), "clients", "revoke",
         str(client_id(daemon, "Comptoir CLI"))],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert_revoked(http.get("/v1/readers"))
    assert_revoked(http.get("/v1/readers"))


def test_revocation_through_another_registry_connection_in_this_process(
    daemon: Daemon,
) -> None:
    http = daemon.client("Comptoir Conn")
    assert http.get("/v1/readers").status_code == 200
    with ClientRegistry(daemon.state) as registry:
        registry.revoke(client_id(daemon, "Comptoir Conn"))
    assert_revoked(http.get("/v1/readers"))


def test_a_certificate_cached_as_unknown_is_found_once_enrolled(daemon: Daemon) -> None:
    key = testpki.new_rsa_key()
    cert = testpki.issue(daemon.pki.organisations, key.public_key(),
                         testpki.igc_sante_name("COMPTOIR TARDIF", ["3750000010"]),
                         key_usage={"digital_signature"})
    fp = fingerprint(cert.public_bytes(serialization.Encoding.DER))
    assert daemon.admin.lookup(fp) is None
    assert daemon.admin.lookup(fp) is None  # the miss is cached now
    with ClientRegistry(daemon.state) as registry:
        registry.enrol("Comptoir Tardif", "counter", testpki.cert_pem(cert))
    found = daemon.admin.lookup(fp)
    assert found is not None and found.name == "Comptoir Tardif"


def test_lookup_answers_the_same_as_the_registry(daemon: Daemon) -> None:
    http = daemon.client("Comptoir Same")
    assert http.get("/v1/readers").status_code == 200
    with ClientRegistry(daemon.state) as registry:
        enrolled = next(c for c in registry.list() if c.name == "Comptoir Same")
    found = daemon.admin.lookup(enrolled.fingerprint_sha256)
    assert found is not None
    assert (found.name, found.role.value) == ("Comptoir Same", "counter")
    assert daemon.admin.lookup("00" * 32) is None
