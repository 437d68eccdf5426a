"""The téléservice errors, in a module of their own so the one problem mapping
(``hostd.api.problems``) can name them without loading the HTTP client."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Codes that mean "try again later" (DOMAIN.md: siram_40 + insi_102, service temporarily
# unavailable). Only these faults are retried, and only for calls the caller marks idempotent.
TRANSIENT_CODES = frozenset({"siram_40", "insi_102"})


class SoapError(Exception):
    """Base of every téléservice error; ``message`` is one line for people."""


class SoapTransportError(SoapError):
    """The service could not be reached or did not answer in time (after the bounded retries)."""


class SoapProtocolError(SoapError):
    """The service answered something that is not the SOAP 1.2 document expected."""


@dataclass(frozen=True)
class ServiceError:
    """One ``siram:Erreur`` of a fault's Detail: the code the service documents."""

    code: str
    severity: str = ""
    message_id: str = ""
    text: str = ""


class SoapFault(SoapError):
    """A SOAP 1.2 Fault, with the service's own codes (``desir_560``, ``siram_100``…)."""

    def __init__(
        self,
        code: str,
        reason: str,
        subcodes: Sequence[str] = (),
        errors: Sequence[ServiceError] = (),
        http_status: int = 500,
    ) -> None:
        super().__init__(f"{code}: {reason}" + (f" ({', '.join(self._codes(errors))})"
                                                 if errors else ""))
        self.code = code  # env:Sender / env:Receiver (local name)
        self.reason = reason
        self.subcodes = tuple(subcodes)
        self.errors = tuple(errors)
        self.http_status = http_status

    @staticmethod
    def _codes(errors: Iterable[ServiceError]) -> list[str]:
        return [e.code for e in errors]

    @property
    def service_codes(self) -> tuple[str, ...]:
        """Every code the service gave: ``siram:Erreur/@code`` values, then subcodes."""
        return tuple(self._codes(self.errors)) + tuple(
            s for s in self.subcodes if s not in self._codes(self.errors)
        )

    @property
    def transient(self) -> bool:
        return bool(TRANSIENT_CODES & set(self.service_codes))


class TunnelError(Exception):
    """The TLS tunnel could not start or stopped; the message is one line."""


class TeleserviceUnavailable(Exception):
    """INSi/DMP are not configured on this box (their clients were never started)."""


class TunnelDown(TeleserviceUnavailable):
    """The TLS tunnel died and could not be restarted for this call: try again later (the next
    call tries the restart again), unlike a box that is not configured at all."""


class NoCpsForCpx(Exception):
    """CPx mode needs exactly one CPS in a reader (or the reader named in the request)."""


class DmpRequestError(ValueError):
    """A relay request the box will not forward (the counter's fault)."""
