"""A box whose token or token PIN is lost: the way back to a working box.

The keys cannot come back (the SO PIN is thrown away at ``init`` and keys never leave the
token), so recovery means: forget the lost token and everything certified for its keys, then
provision again — new local CA (counters enrol again), new ORG keys (certificates ordered
again). ``comptoir provision recover`` does both steps; ``zeroize`` then ``init`` does the same
in two commands.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from provisioning import token
from provisioning.db import ProvisioningDb
from provisioning.errors import StoreError
from provisioning.paths import StatePaths

RECOVER_HINT = token.RECOVER_HINT


def token_fault(paths: StatePaths) -> str | None:
    """Why the token of a provisioned state directory cannot be opened, or None."""
    if token.uses_softhsm() and not token.token_exists(paths):
        return f"the token files in {paths.token_dir} are gone"
    if not paths.token_pin_file.is_file() and not token.credential_pin_available():
        return f"the token PIN ({paths.token_pin_file}) is gone"
    return None


def has_recorded_keys(paths: StatePaths) -> bool:
    if not paths.db.exists():
        return False
    db = ProvisioningDb(paths)
    try:
        rows = db.rows(
            "SELECT 1 FROM slots WHERE active_key_id IS NOT NULL OR pending_key_id IS NOT NULL"
        )
    finally:
        db.close()
    return bool(rows)


def forget_token(paths: StatePaths, reason: str) -> None:
    """Removes the unusable token, its PIN, the TLS server key, and every slot record.

    Enrolled clients stay listed (their certificates fail at the handshake once the local CA
    is new; ``clients revoke`` tidies the list)."""
    if not token.uses_softhsm():
        raise StoreError(
            f"{token.module_path()} is not SoftHSM2: re-create its token with its own tool,"
            f" write the new user PIN to {paths.token_pin_file}, then run `comptoir provision"
            " zeroize` and `init`"
        )
    if paths.softhsm_tokens.is_dir():
        for child in paths.softhsm_tokens.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    paths.token_pin_file.unlink(missing_ok=True)
    for name in ("server.key", "server.pem", "ca.pem"):
        (paths.tls_dir / name).unlink(missing_ok=True)
    db = ProvisioningDb(paths)
    try:
        with db.transaction() as tx:
            tx.execute("DELETE FROM slots")
        db.event(None, "recover", reason)
    finally:
        db.close()


def keys_missing_on_token(state_dir: Path) -> list[str]:
    """Slots whose recorded key is not on the token (token files replaced or emptied)."""
    from provisioning.store import Store

    missing = []
    with Store.open(state_dir) as store:
        present = {o.key_id for o in store.token_objects() if o.object_class == "PRIVATE_KEY"}
        for row in store.db.rows("SELECT slot, active_key_id, pending_key_id FROM slots"):
            for column in ("active_key_id", "pending_key_id"):
                if row[column] and row[column] not in present:
                    missing.append(str(row["slot"]))
    return sorted(set(missing))
