"""Client certificate → enrolled client → role, checked on every request.

The TLS handshake proves the peer holds a key certified by the box's local CA. That is not
enough: a counter PC that was revoked still holds a valid certificate, so every request looks
its certificate's SHA-256 fingerprint up in the client registry (cached until the registry
next changes, see ``hostd.provisioned.RegistryClients``) and is refused at once when the
client is unknown or revoked — no reconnect or CRL refresh needed.
"""

from __future__ import annotations

import enum
import hashlib
import unicodedata
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote


class Role(enum.StrEnum):
    COUNTER = "counter"
    """A counter PC running the LGO: cards, CPS, Vitale, store signing."""
    SERVER = "server"
    """The pharmacy's server: store signing (batch work) and status."""
    ADMIN = "admin"
    """The technician's or titulaire's tool: clients, pairing, audit, plus everything else."""


@dataclass(frozen=True)
class EnrolledClient:
    name: str
    role: Role
    fingerprint: str
    revoked: bool = False


class ClientDirectory(Protocol):
    def lookup(self, fingerprint: str) -> EnrolledClient | None: ...


class NotAuthenticated(Exception):
    """No client certificate reached the app (only possible on a misconfigured listener)."""


class ClientRevoked(Exception):
    """The certificate belongs to a client that was revoked or never enrolled."""


class Forbidden(Exception):
    """The client's role does not allow this endpoint."""


class MissingOperator(Exception):
    """Card and key operations must name the LGO's logged-in person."""


OPERATOR_HEADER = "X-Comptoir-Operator"
_OPERATOR_MAX = 128
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
"""Controls (C0, C1 with U+0085), format characters (bidi embeddings/overrides/isolates
U+202A–202E, U+2066–2069, zero-width U+200B–200D, U+FEFF…), line and paragraph separators
(U+2028/2029), private-use, surrogates and unassigned code points: none belongs in a person's
name, and each can split or disguise a line for whoever reads the audit export."""


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def identify(directory: ClientDirectory, der: bytes | None) -> EnrolledClient:
    if not der:
        raise NotAuthenticated("no client certificate")
    client = directory.lookup(fingerprint(der))
    if client is None or client.revoked:
        raise ClientRevoked("this client certificate is revoked or not enrolled")
    return client


def require_role(client: EnrolledClient, allowed: frozenset[Role]) -> None:
    if client.role not in allowed and client.role is not Role.ADMIN:
        raise Forbidden(f"role {client.role.value} may not call this endpoint")


def operator_name(raw: str | None) -> str:
    """HTTP header values are ASCII in practice, so a name with accents arrives percent-encoded
    UTF-8 (``pr%C3%A9paratrice``); plain ASCII passes unchanged. A client that sends raw UTF-8
    bytes is understood too (the server sees them as Latin-1 and they are turned back into the
    UTF-8 text they were), so the stored name is always the real text, never mojibake. The name
    is stored NFC-normalised."""
    if raw is None or not raw.strip():
        raise MissingOperator(f"header {OPERATOR_HEADER} must name the logged-in operator")
    try:
        text = raw.strip().encode("latin-1").decode("utf-8")
        name = unicodedata.normalize("NFC", unquote(text, errors="strict"))
    except UnicodeError as exc:
        raise MissingOperator(
            f"header {OPERATOR_HEADER} is not UTF-8 (percent-encode the name's UTF-8 bytes)"
        ) from exc
    if not 1 <= len(name) <= _OPERATOR_MAX:
        raise MissingOperator(
            f"header {OPERATOR_HEADER} must name the logged-in operator in 1-{_OPERATOR_MAX} "
            "characters"
        )
    for char in name:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise MissingOperator(
                f"header {OPERATOR_HEADER}: character U+{ord(char):04X} "
                f"({unicodedata.name(char, 'unnamed')}) is not allowed in a name "
                "(control, line separator, bidi or invisible character)"
            )
    return name
