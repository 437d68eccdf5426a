"""``comptoir provision`` when the state directory's disk is full or read-only, as a technician
meets it on a box with a full SD card: one error line, a non-zero exit, nothing half-written,
and the same command run again once there is room finishes the job.

The small disk is a real tmpfs of a few kilobytes (mounting needs root: the test says so and is
skipped elsewhere). The database-full case uses SQLite's own page limit on the real database.
"""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from provisioning.slots import Slot
from provisioning.store import Store
from tests.provision_fixtures import provision, run

COMPTOIR = Path(sys.executable).parent / "comptoir"


class SmallDisk:
    """A tmpfs mounted under the test's directory; ``resize`` is ``mount -o remount``."""

    def __init__(self, mountpoint: Path) -> None:
        self.path = mountpoint

    def resize(self, size: str, *, read_only: bool = False) -> None:
        opts = f"remount,size={size}" + (",ro" if read_only else ",rw")
        subprocess.run(["mount", "-o", opts, str(self.path)], check=True, timeout=30)

    def fill(self) -> None:
        """Write zeros until the kernel says ENOSPC (bounded by the disk's size)."""
        with (self.path / "filler").open("wb", buffering=0) as f:
            for _ in range(100_000):
                try:
                    f.write(b"\0" * 4096)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    return
        raise AssertionError("the small disk never filled")

    def free(self) -> None:
        (self.path / "filler").unlink()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mountpoint)],
                          capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"cannot mount a small tmpfs (./test.sh runs as root): {done.stderr.strip()}")
    try:
        yield SmallDisk(mountpoint)
    finally:
        subprocess.run(["umount", str(mountpoint)], timeout=30, check=False)


def provision_cli(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(COMPTOIR), "provision", "--state-dir", str(state), *args],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def assert_one_line_failure(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def assert_nothing_half_written(state: Path) -> None:
    """No temporary file left behind, and every PEM the daemon would read parses whole."""
    assert not [p for p in state.rglob(".*.tmp")], list(state.rglob(".*.tmp"))
    for pem in [*state.glob("tls/*.pem"), *state.glob("trust/*.pem")]:
        x509.load_pem_x509_certificates(pem.read_bytes())


def assert_no_orphan_key(state: Path) -> None:
    """Every key on the token is one a slot points at: a failed step left none behind."""
    store = Store.open(state)
    try:
        rows = store.db.rows("SELECT active_key_id, pending_key_id FROM slots")
        known = {k for row in rows for k in row.values() if k}
        on_token = {obj.key_id for obj in store.token_objects()}
    finally:
        store.close()
    assert on_token <= known, on_token - known


def assert_tls_identity_verifies(state: Path) -> None:
    tls = state / "tls"
    verify = run(["openssl", "verify", "-CAfile", tls / "ca.pem", tls / "server.pem"])
    assert verify.returncode == 0, verify.stdout + verify.stderr
    key_pub = run(["openssl", "pkey", "-in", tls / "server.key", "-pubout"])
    cert_pub = run(["openssl", "x509", "-in", tls / "server.pem", "-noout", "-pubkey"])
    assert key_pub.returncode == 0 and key_pub.stdout == cert_pub.stdout


# From "the database cannot even be created" through "the database fills up" to "the token
# cannot store its key": 136k and more is enough for a whole init on this machine.
SIZES = ["16k", "32k", "48k", "64k", "80k", "96k", "112k", "128k"]


# 16 `comptoir provision init` processes (a token and keys each): minutes on a loaded machine.
@pytest.mark.timeout(600)
def test_init_on_a_full_disk_fails_in_one_line_and_resumes(small_disk: SmallDisk) -> None:
    failures = set()
    for size in SIZES:
        state = small_disk.path / f"state-{size}"
        small_disk.resize(size)
        done = provision_cli(state, "init")
        if done.returncode != 0:
            failures.add(assert_one_line_failure(done).split(":")[1])
            assert_nothing_half_written(state)
        small_disk.resize("4m")
        again = provision_cli(state, "init")
        assert again.returncode == 0, (size, again.stdout, again.stderr)
        assert_tls_identity_verifies(state)
        assert_no_orphan_key(state)
        assert provision_cli(state, "status").returncode == 0
        subprocess.run(["rm", "-rf", str(state)], check=True, timeout=30)
    # The sizes really met different steps: SQLite's and the token's errors.
    assert {" state database", " the token could not generate a key"} <= failures, failures


def test_keygen_and_trust_on_a_full_disk(small_disk: SmallDisk) -> None:
    state = small_disk.path / "state"
    assert provision_cli(state, "init").returncode == 0
    root_pem = Path(__file__).resolve().parent.parent / "drivers/sim/cards/test-pki/root.crt.pem"
    small_disk.fill()
    assert_one_line_failure(provision_cli(state, "keygen", "org-sign"))
    assert_one_line_failure(provision_cli(state, "trust", "add", str(root_pem)))
    small_disk.free()
    assert_nothing_half_written(state)
    assert_no_orphan_key(state)
    assert not list((state / "trust").glob("*.pem"))
    # With room again the same commands work.
    assert provision_cli(state, "keygen", "org-sign").returncode == 0
    assert provision_cli(state, "trust", "add", str(root_pem)).returncode == 0
    assert_no_orphan_key(state)


def test_read_only_state_is_one_line(small_disk: SmallDisk) -> None:
    state = small_disk.path / "state"
    assert provision_cli(state, "init").returncode == 0
    small_disk.resize("4m", read_only=True)
    try:
        line = assert_one_line_failure(provision_cli(state, "keygen", "org-sign"))
        assert str(state) in line
    finally:
        small_disk.resize("4m")
    assert_no_orphan_key(state)


def test_keygen_when_the_database_is_full_leaves_no_orphan_key(tmp_path: Path) -> None:
    """SQLite's page limit on the real database: the key the token made is destroyed and the
    audit log records no keygen, then keygen works once the database may grow."""
    from drivers.sim import testpki

    store = provision(tmp_path / "state", testpki.TestPki.create())
    try:
        conn = store.db.db.conn
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        conn.execute(f"PRAGMA max_page_count = {pages}")
        # Fill the free space of the existing pages, big rows then tiny ones, so the keygen's
        # audit row needs a page the limit refuses.
        for width in (200, 1):
            for _ in range(10_000):
                try:
                    store.db.event(None, "f", "x" * width)
                except sqlite3.OperationalError as exc:
                    assert "full" in str(exc)
                    break
            else:
                raise AssertionError("the database never filled")
        objects_before = len(store.token_objects())
        with pytest.raises(sqlite3.OperationalError, match="full"):
            store.keygen(Slot.ORG_SIGN)
        assert len(store.token_objects()) == objects_before
        assert store.public_key_or_none(Slot.ORG_SIGN) is None
        conn.execute("PRAGMA max_page_count = 1073741823")
        store.keygen(Slot.ORG_SIGN)
        assert len(store.token_objects()) == objects_before + 2  # private + public key
        events = store.db.rows("SELECT event FROM key_events WHERE slot = ?", ("org-sign",))
        assert [e["event"] for e in events] == ["keygen"]
    finally:
        store.close()
    assert_no_orphan_key(tmp_path / "state")
