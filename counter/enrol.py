"""``comptoir enrol https://box:8444 CODE --fingerprint SHA256``: a counter joins the box.

1. Fetch the box's CA from the enrolment port *without* trusting anything yet, and compare
   its SHA-256 with the fingerprint on the handover sheet. On a mismatch nothing is sent: the
   code would go to whoever is in the middle.
2. From then on TLS is verified against that CA (and the URL's host name).
3. Generate the key here (EC P-256; it never leaves the counter), send the code and a CSR,
   install the certificate, the CA and ``box.json`` where :mod:`counter.identity` says.

Standard library and ``cryptography`` only: it runs on Windows from the Python package.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import ssl
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from counter.identity import Identity, default_dir

TIMEOUT_S = 15.0


class EnrolError(Exception):
    """One line for the person at the counter; ``exit_code`` tells scripts what went wrong."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _hex(value: str) -> str:
    return "".join(ch for ch in value.lower() if ch in "0123456789abcdef")


def _split(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise EnrolError(f"the box URL must look like https://box:8444, got {url!r}")
    return parts.hostname, parts.port or 8444


def _request(
    host: str, port: int, ctx: ssl.SSLContext, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=TIMEOUT_S)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if payload else {}
        conn.request(method, path, body=payload, headers=headers)
        answer = conn.getresponse()
        raw = answer.read()
    except ssl.SSLCertVerificationError as exc:
        raise EnrolError(
            f"the box's TLS certificate does not fit: {exc.verify_message}", 6
        ) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise EnrolError(f"cannot reach the box at {host}:{port}: {exc}", 3) from exc
    finally:
        conn.close()
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        raise EnrolError(f"{host}:{port} did not answer like a Comptoir box", 3) from None
    return answer.status, data


def fetch_ca(url: str, fingerprint: str) -> bytes:
    """The box's CA certificate (PEM), only if its SHA-256 is ``fingerprint``."""
    host, port = _split(url)
    blind = ssl.create_default_context()
    blind.check_hostname = False
    blind.verify_mode = ssl.CERT_NONE  # nothing is trusted yet: the fingerprint decides
    status, data = _request(host, port, blind, "GET", "/v1/ca")
    if status != 200 or "ca_pem" not in data:
        raise EnrolError(f"{url} did not hand out its CA (HTTP {status})", 3)
    pem = str(data["ca_pem"]).encode()
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise EnrolError(f"{url} sent something that is not a certificate", 6) from None
    actual = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    wanted = _hex(fingerprint)
    if len(wanted) != 64:
        raise EnrolError("--fingerprint must be the 64 hex digits of the handover sheet")
    if actual != wanted:
        raise EnrolError(
            f"the box's CA fingerprint is {actual[:16]}…, the sheet says {wanted[:16]}…:"
            " nothing sent (wrong box, or someone in between); check the URL and the sheet",
            6,
        )
    return pem


def _csr(key: ec.EllipticCurvePrivateKey) -> bytes:
    # The box names the certificate after the pairing code's client; the CN here is a hint.
    name = (socket.gethostname() or "counter")[:64]
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes, private: bool = False) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def enrol(
    url: str, code: str, fingerprint: str, directory: Path, api_url: str | None = None
) -> tuple[Identity, dict[str, Any]]:
    host, port = _split(url)
    ca_pem = fetch_ca(url, fingerprint)
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    key = ec.generate_private_key(ec.SECP256R1())
    status, data = _request(
        host, port, ctx, "POST", "/v1/enrol",
        {"code": code.strip(), "csr_pem": _csr(key).decode()},
    )  # fmt: skip
    if status != 200:
        title = data.get("title") or f"HTTP {status}"
        detail = f": {data['detail']}" if data.get("detail") else ""
        raise EnrolError(f"{title}{detail}", 5 if status in (403, 429) else 1)
    cert_pem = str(data["certificate_pem"]).encode()
    cert = x509.load_pem_x509_certificate(cert_pem)
    if cert.public_key() != key.public_key():
        raise EnrolError("the box answered with a certificate for another key", 6)
    ident = Identity(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(ident.key, key_pem, private=True)
    _write(ident.certificate, cert_pem)
    _write(ident.ca, ca_pem)
    box = {
        "api_url": api_url or f"https://{host if ':' not in host else f'[{host}]'}:{port - 1}",
        "enrol_url": url,
        "name": data.get("name"),
        "role": data.get("role"),
        "ca_sha256": _hex(fingerprint),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }
    _write(ident.box_file, (json.dumps(box, indent=2) + "\n").encode())
    return ident, box


app = typer.Typer(add_completion=False, no_args_is_help=True, help="Counter-side commands.")


def enrol_command(
    url: Annotated[str, typer.Argument(help="Enrolment URL from the sheet, https://box:8444.")],
    code: Annotated[str, typer.Argument(help="The one-time pairing code.")],
    fingerprint: Annotated[
        str, typer.Option("--fingerprint", help="Box CA SHA-256 from the handover sheet.")
    ],
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help=f"Where to install (default {default_dir()})."),
    ] = None,
    api_url: Annotated[
        str | None, typer.Option("--api-url", help="API URL (default: same host, port - 1).")
    ] = None,
) -> None:
    """Enrol this counter: check the box's CA fingerprint, then exchange the code for a
    certificate (key made here)."""
    target = directory or default_dir()
    try:
        ident, box = enrol(url, code, fingerprint, target, api_url)
    except EnrolError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except OSError as exc:
        typer.echo(f"error: cannot write in {target}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"Enrolled as {box['name']} ({box['role']}); certificate until {box['not_after'][:10]};"
        f" files in {ident.directory}; API {box['api_url']}"
    )


app.command("enrol")(enrol_command)

# `comptoir enrol …` (the root command loads this single-command app lazily).
enrol_app = typer.Typer(add_completion=False)
enrol_app.command()(enrol_command)


@app.callback()
def _group() -> None:
    """Counter-side commands (``python -m counter enrol …`` on any OS)."""


def main() -> None:
    app(sys.argv[1:])
