"""How the audit log names a patient: ``ins_ref``, never the INS itself.

The log is append-only and kept for years, and a counter already holds the patient file, so a
row keeps no trait and no INS in clear. ``ins_ref`` is an HMAC-SHA256 under a box secret: an
auditor holding a patient's INS can still find every access to that patient (compute the same
HMAC on the box), while the log alone reveals no INS (an unkeyed hash of a NIR would: its
structure makes it guessable). Every row that concerns a patient (INSi, DMP, the VIHF signed
for a DMP call) uses it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

PSEUDONYM_KEY_FILE = "audit-pseudonym.key"


def load_pseudonym_key(secrets_dir: Path) -> bytes:
    """The box secret behind ``ins_ref`` (32 random bytes, 0600, created once)."""
    path = secrets_dir / PSEUDONYM_KEY_FILE
    if not path.exists():
        secrets_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


def ins_ref(key: bytes, ins: str) -> str:
    return hmac.new(key, ins.encode(), hashlib.sha256).hexdigest()[:32]
