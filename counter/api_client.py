"""A counter's connection to the box through the generated client (``comptoir_client``).

The client is generated from the daemon's OpenAPI document (``scripts/gen_clients.sh``), so an
LGO written against it follows the API's own types. What it cannot know is set up here once:
the mTLS context from the files enrolment left (the box's CA, this counter's certificate and
key), the operator header every card operation needs, and one way to turn an answer into either
its model or an :class:`ApiProblem` carrying the RFC 9457 problem the daemon sent.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import httpx
from comptoir_client import Client
from comptoir_client.models import ProblemDetails

OPERATOR_HEADER = "X-Comptoir-Operator"

T = TypeVar("T")


class ApiProblem(Exception):
    """The daemon answered with a problem (``type`` is its stable slug URI)."""

    def __init__(self, problem: ProblemDetails) -> None:
        super().__init__(f"{problem.status} {problem.type_}: {problem.detail}")
        self.problem = problem


def tls_context(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """Trusts only the box's CA; presents the counter's certificate when given."""
    context = ssl.create_default_context(cafile=str(ca))
    if cert is not None and key is not None:
        context.load_cert_chain(str(cert), str(key))
    return context


def operator_header(name: str) -> dict[str, str]:
    """Header values are ASCII in practice: a name with accents travels percent-encoded."""
    return {OPERATOR_HEADER: quote(name, safe=" ()'-.")}


def connect(
    base_url: str, *, ca: Path, cert: Path, key: Path, operator: str, timeout_s: float = 60.0
) -> Client:
    """A client for one counter; use it as a context manager to close its connections."""
    return Client(
        base_url=base_url,
        verify_ssl=tls_context(ca, cert, key),
        headers=operator_header(operator),
        timeout=httpx.Timeout(timeout_s),
        # An answer the document does not describe is a bug on one side: never a silent None.
        raise_on_unexpected_status=True,
    )


def from_identity(
    operator: str, directory: Path | None = None, *, timeout_s: float = 60.0
) -> Client:
    """The client of a counter enrolled by ``comptoir enrol``: the box's URL, its CA and this
    counter's key and certificate, all from where enrolment installed them
    (:mod:`counter.identity`), so an LGO needs no path of its own."""
    from counter import identity

    ident = identity.load(directory)
    return connect(ident.api_url, ca=ident.ca, cert=ident.certificate, key=ident.key,
                   operator=operator, timeout_s=timeout_s)


def expect(answer: T | ProblemDetails | None, model: type[T]) -> T:
    """The answer as ``model``, or :class:`ApiProblem` when the daemon sent a problem."""
    if isinstance(answer, model):
        return answer
    if isinstance(answer, ProblemDetails):
        raise ApiProblem(answer)
    raise TypeError(f"expected {model.__name__}, got {type(answer).__name__}")
