"""Where a counter keeps its identity for the box, and the TLS context built from it.

``comptoir enrol`` writes, and every API client (the generated Python client, the demo, a
pharmacy's own scripts) reads, these files in one directory:

| file | content |
|---|---|
| ``ca.pem`` | the box's local CA (checked against the handover sheet's fingerprint) |
| ``client.pem`` | this counter's certificate, issued by that CA |
| ``client.key`` | this counter's private key (EC P-256, made on the counter; 0600) |
| ``box.json`` | ``api_url``, ``enrol_url``, ``name``, ``role``, ``ca_sha256`` |

The directory is ``$COMPTOIR_COUNTER_DIR`` if set; else ``%APPDATA%\\Comptoir`` on Windows;
else ``$XDG_CONFIG_HOME/comptoir`` (``~/.config/comptoir``). Pure Python (stdlib and
``cryptography``) so it runs on a Windows counter from the Python package alone.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DIR_ENV = "COMPTOIR_COUNTER_DIR"


def default_dir() -> Path:
    value = os.environ.get(DIR_ENV)
    if value:
        return Path(value)
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "Comptoir"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "comptoir"


@dataclass(frozen=True)
class Identity:
    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def certificate(self) -> Path:
        return self.directory / "client.pem"

    @property
    def key(self) -> Path:
        return self.directory / "client.key"

    @property
    def box_file(self) -> Path:
        return self.directory / "box.json"

    def box(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.box_file.read_text(encoding="utf-8"))
        return data

    @property
    def api_url(self) -> str:
        return str(self.box()["api_url"])

    def ssl_context(self) -> ssl.SSLContext:
        """mTLS to the box: trusts only the box's CA, presents this counter's certificate."""
        ctx = ssl.create_default_context(cafile=str(self.ca))
        ctx.load_cert_chain(str(self.certificate), str(self.key))
        return ctx


def load(directory: Path | None = None) -> Identity:
    """The enrolled identity; a one-line error when this counter has not enrolled yet."""
    ident = Identity(directory or default_dir())
    for path in (ident.ca, ident.certificate, ident.key, ident.box_file):
        if not path.is_file():
            raise FileNotFoundError(f"{path} missing: enrol first (`comptoir enrol URL CODE …`)")
    return ident
