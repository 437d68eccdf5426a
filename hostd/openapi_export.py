"""The API's OpenAPI document without a box: ``python -m hostd.openapi_export [FILE]``.

The generated LGO clients (``clients/``, ``scripts/gen_clients.sh``) are built from this
document, and the drift test rebuilds them on any machine, so it must not need a token, pcscd
or provisioned state. The app is built by the same factory as ``comptoir serve`` with inert
devices: the routes, models and problem schemas are the real ones, nothing is ever called. The
ORG-key signing routes exist only where a store is wired, as on every provisioned box, so an
inert store is wired here too. The output is canonical JSON (sorted keys, two-space indent,
trailing newline), so the same code always gives the same bytes.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from drivers.apdu import CardConnection
from hostd import config
from hostd.app import create_app
from hostd.audit import AuditLog
from hostd.auth import EnrolledClient
from hostd.context import Devices
from hostd.services.readers import ReaderHub
from hostd.services.signing import SigningService


def _never(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise RuntimeError("an inert device built only to describe the API was called")


class _NoClients:
    def lookup(self, fingerprint: str) -> EnrolledClient | None:
        return None


class _NoStore:
    def raw(self, key: str, *, data: bytes | None, digest: bytes | None) -> bytes:
        _never()

    def cms(self, key: str, data: bytes) -> bytes:
        _never()

    def xmldsig(self, key: str, xml: bytes) -> bytes:
        _never()

    def vihf(self, key: str, context: dict[str, Any]) -> bytes:
        _never()

    def certificate_pem(self, key: str) -> str:
        _never()


def _no_connect(reader: str) -> CardConnection:
    _never()


def openapi_document() -> dict[str, Any]:
    """The document a running daemon serves at ``/openapi.json`` (the tests compare them)."""
    with tempfile.TemporaryDirectory(prefix="comptoir-openapi-") as state:
        audit = AuditLog.open(Path(state))  # empty and thrown away: no row is ever written
        try:
            devices = Devices(
                clients=_NoClients(),
                hub=ReaderHub(_no_connect, _never),
                signing=SigningService(_NoStore(), audit, pseudonym_key=bytes(32)),
            )
            settings = config.from_dict({"state_dir": state})
            return create_app(settings, devices, audit).openapi()
        finally:
            audit.close()


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("error: usage: python -m hostd.openapi_export [FILE]", file=sys.stderr)
        return 2
    text = render(openapi_document())
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
