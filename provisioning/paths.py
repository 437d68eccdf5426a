"""Where the box keeps its provisioning state, and the file modes each part must have."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_STATE_DIR = Path("/var/lib/comptoir")
STATE_DIR_ENV = "COMPTOIR_STATE_DIR"


@dataclass(frozen=True)
class StatePaths:
    """A state directory: ``provisioning.db``, ``token/``, ``secrets/`` (0700), ``tls/``,
    ``trust/``."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / "provisioning.db"

    @property
    def token_dir(self) -> Path:
        return self.root / "token"

    @property
    def softhsm_conf(self) -> Path:
        return self.token_dir / "softhsm2.conf"

    @property
    def softhsm_tokens(self) -> Path:
        return self.token_dir / "tokens"

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    @property
    def token_pin_file(self) -> Path:
        return self.secrets_dir / "token-user-pin"

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def trust_dir(self) -> Path:
        return self.root / "trust"

    @property
    def enrolment_window(self) -> Path:
        """Until when (Unix time, one line) a pairing code lives: the appliance's firewall
        opens the enrolment port until then (images/: a systemd path unit watches this file,
        because the daemon that makes codes through the admin API may not touch the firewall)."""
        return self.root / "enrolment-window"

    def make_dirs(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for d in (self.token_dir, self.softhsm_tokens, self.tls_dir, self.trust_dir):
            d.mkdir(exist_ok=True)
        # Secrets and the token files hold key material or the PIN protecting it: owner only.
        self.secrets_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.secrets_dir, 0o700)
        os.chmod(self.token_dir, 0o700)
        os.chmod(self.softhsm_tokens, 0o700)


def write_file_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replaces ``path`` with ``data`` whole or not at all.

    A full disk or a power cut mid-write must not leave a truncated PEM or PIN file: the next
    start would fail on it, or a server key would no longer match its certificate. The data
    goes to a temporary file in the same directory (created with ``mode`` from the first byte,
    so no window where a private file is world-readable), is fsynced, then renamed over
    ``path``; the directory is fsynced so the rename survives a power cut.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            # os.write may write less than asked (a nearly full disk): loop, ENOSPC raises.
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_private_file(path: Path, data: bytes) -> None:
    """Key material or a PIN: 0600, replaced atomically."""
    write_file_atomic(path, data, 0o600)


def write_public_file(path: Path, data: bytes) -> None:
    """Certificates and configuration: 0644, replaced atomically."""
    write_file_atomic(path, data, 0o644)
