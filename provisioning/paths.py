"""Where the box keeps its provisioning state, and the file modes each part must have."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_STATE_DIR = Path("/var/lib/comptoir")
STATE_DIR_ENV = "COMPTOIR_STATE_DIR"


def default_state_dir() -> Path:
    value = os.environ.get(STATE_DIR_ENV)
    return Path(value) if value else DEFAULT_STATE_DIR


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

    def make_dirs(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for d in (self.token_dir, self.softhsm_tokens, self.tls_dir, self.trust_dir):
            d.mkdir(exist_ok=True)
        # Secrets and the token files hold key material or the PIN protecting it: owner only.
        self.secrets_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.secrets_dir, 0o700)
        os.chmod(self.token_dir, 0o700)
        os.chmod(self.softhsm_tokens, 0o700)


def write_private_file(path: Path, data: bytes) -> None:
    """Creates ``path`` as 0600 from the first byte on (no window where it is world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
