"""Signature checks of the doubles, by xmlsec1 (an independent verifier, not our signer)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

SAML_ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"


def verify_assertion(xml: bytes, trusted_root: Path, intermediates: list[Path]) -> str | None:
    """None when xmlsec1 accepts the SAML assertion's signature (certificate from KeyInfo,
    chained to ``trusted_root``), else xmlsec1's reason (one line)."""
    with tempfile.TemporaryDirectory(prefix="double-xmlsec-") as tmp:
        doc = Path(tmp) / "assertion.xml"
        doc.write_bytes(xml)
        cmd = ["xmlsec1", "--verify", "--trusted-pem", str(trusted_root)]
        for inter in intermediates:
            cmd += ["--untrusted-pem", str(inter)]
        cmd += ["--id-attr:ID", SAML_ASSERTION, str(doc)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode == 0:
        return None
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    return (lines[-1] if lines else "xmlsec1 refused the signature")[:200]
