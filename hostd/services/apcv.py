"""ApCV reads for every counter through the one shared CPS.

A counter scans the patient's ApCV QR code (or the phone is laid on the box's contactless
reader); the box makes the assertion PS with the CPS signature key — one card job in the
shared-CPS queue, audited like any other — and runs ``authentifierUtilisateurProximite`` then
``restituerContexteApCV`` with it. ``restituerContexteApCV`` names no context (its request is
empty): the service answers the professional's *current* context. Two counters reading two
ApCV at once through the same CPS would race, so reads through one CPS are serialised here
(a lock per CPS reader); reads through different CPS run in parallel.

``[apcv]`` settings (one table, one-line errors)::

    [apcv]
    host = "apcv.sesam-vitale.example"   # where to connect (an address is fine)
    port = 443
    server_name = "apcv.sesam-vitale.example"   # the name the certificate must carry
    trust = "/etc/comptoir/apcv-trust.pem"      # anchors for the service's certificate
    identifiant_facturation = "123456783"       # 8 digits + key
    specialite_amo = "50"
    national_id = "810001234567"                # the CPS holder's national id
    secteur_activite = "SA05"
    idam = "AM-TEST-0001"                       # the software's authorisation (ContexteLPS)
    instance = "box-1"                          # tells boxes of one software apart
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from cryptography import x509

from drivers.cards.cps_model import KeyRole
from hostd.audit import AuditLog
from hostd.services.apcv_errors import ApcvRefused, ApcvUnavailable
from hostd.services.jobs import Caller, audited
from hostd.teleservices import apcv, cps_assertion, soap

T = TypeVar("T")


class ApcvConfigError(ValueError):
    """One line naming the key."""


@dataclass(frozen=True)
class ApcvSettings:
    host: str
    port: int
    server_name: str
    trust: Path
    professionnel: apcv.ProfessionnelSante
    ps: cps_assertion.PsIdentity
    lps: soap.LpsIdentity

    @classmethod
    def from_table(cls, raw: dict[str, Any]) -> ApcvSettings:
        allowed = {"host", "port", "server_name", "trust", "identifiant_facturation",
                   "specialite_amo", "national_id", "secteur_activite", "idam", "instance"}
        extra = sorted(set(raw) - allowed)
        if extra:
            raise ApcvConfigError(f"apcv.{extra[0]}: unknown key")
        missing = sorted(allowed - {"port", "secteur_activite", "instance"} - set(raw))
        if missing:
            raise ApcvConfigError(f"apcv.{missing[0]}: missing")
        port = raw.get("port", 443)
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise ApcvConfigError("apcv.port: 1 to 65535")
        billing = str(raw["identifiant_facturation"])
        try:
            pro = apcv.ProfessionnelSante(billing[:8], billing[8:], str(raw["specialite_amo"]))
            ps = cps_assertion.PsIdentity(str(raw["national_id"]), billing,
                                          str(raw.get("secteur_activite", "SA05")))
            lps = soap.LpsIdentity(str(raw["idam"]), "Comptoir", _version(),
                                   str(raw.get("instance", "box-1")))
        except (apcv.ApcvRequestError, cps_assertion.AssertionPsError, ValueError) as exc:
            raise ApcvConfigError(f"apcv: {exc}") from None
        return cls(str(raw["host"]), port, str(raw["server_name"]), Path(str(raw["trust"])),
                   pro, ps, lps)


def _version() -> str:
    try:
        return importlib.metadata.version("comptoir")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


HttpFactory = Callable[[], httpx.AsyncClient]


class ApcvService:
    def __init__(self, cps: Any, settings: ApcvSettings,
                 policy: soap.CallPolicy | None = None,
                 http: HttpFactory | None = None, audit: AuditLog | None = None) -> None:
        """``cps`` is the daemon's CpsService (``certificate`` and ``sign`` card jobs, each
        audited there); ``audit`` also records each ApCV exchange as a whole (``apcv.read``,
        ``apcv.sign``, ``apcv.end``) with the outcome slug the API answers."""
        self._cps = cps
        self._audit = audit
        self.settings = settings
        self._lps = settings.lps
        self._policy = policy or soap.CallPolicy()
        self._http = http or (lambda: apcv.https_client(
            settings.trust.read_bytes(), settings.host, settings.port, settings.server_name))
        self._locks: dict[str, asyncio.Lock] = {}

    async def _assertion(self, reader: str, caller: Caller) -> Any:
        der = await self._cps.certificate(reader, KeyRole.SIGN, caller)
        key = cps_assertion.CpsSigningKey(x509.load_der_x509_certificate(der),
                                          cps_assertion.CpsQueueSigner(self._cps, reader, caller))
        return await cps_assertion.make_assertion(key, self.settings.ps)

    async def read(self, donnees: str, *, reader: str, caller: Caller,
                   source: str = "apcv-qr") -> apcv.ApcvRead:
        """The whole read through the CPS in ``reader``: one card signature, two calls."""
        def detail(r: apcv.ApcvRead) -> dict[str, Any]:
            return {"source": r.source, "beneficiaries": len(r.read.beneficiaries)}

        return await self._audited(caller, "apcv.read", reader,
                                   self._read(donnees, reader, caller, source), detail)

    async def _audited(self, caller: Caller, action: str, target: str,
                       work: Awaitable[T], detail: Callable[[T], dict[str, Any]] | None = None,
                       ) -> T:
        async def run() -> T:
            with _outcomes():
                return await work

        if self._audit is None:
            return await run()
        return await audited(self._audit, caller, action, target, run(), detail)

    async def _read(self, donnees: str, reader: str, caller: Caller,
                    source: str) -> apcv.ApcvRead:
        async with self._locks.setdefault(reader, asyncio.Lock()):
            assertion = await self._assertion(reader, caller)
            async with self._http() as http:
                client = apcv.ApcvClient(soap.SoapClient(http, str(http.base_url), self._policy),
                                         self._lps)
                return await client.read(self.settings.professionnel, donnees, [assertion],
                                         source)

    @staticmethod
    def facture(nir: str, fse: str, dre: str, montant_cents: int, numero: str) -> apcv.Facture:
        """The invoice to sign, validated (a bad one is the caller's ``ApcvRefused``)."""
        with _outcomes():
            return apcv.Facture(nir, fse.lower(), dre.lower(), montant_cents, numero)

    async def sign(self, context_id: str, facture: apcv.Facture, *, reader: str,
                   caller: Caller) -> apcv.SignedInvoice:
        """``signerVitale``: the GIE signs the invoice hashes in place of the card."""
        return await self._audited(caller, "apcv.sign", reader,
                                   self._sign(context_id, facture, reader, caller))

    async def _sign(self, context_id: str, facture: apcv.Facture, reader: str,
                    caller: Caller) -> apcv.SignedInvoice:
        async with self._locks.setdefault(reader, asyncio.Lock()):
            assertion = await self._assertion(reader, caller)
            async with self._http() as http:
                client = apcv.ApcvClient(
                    soap.SoapClient(http, str(http.base_url), self._policy), self._lps)
                return await client.sign(context_id, facture, [assertion])

    async def end(self, context_id: str, *, reader: str, caller: Caller) -> None:
        await self._audited(caller, "apcv.end", reader, self._end(context_id, reader, caller))

    async def _end(self, context_id: str, reader: str, caller: Caller) -> None:
        async with self._locks.setdefault(reader, asyncio.Lock()):
            assertion = await self._assertion(reader, caller)
            async with self._http() as http:
                client = apcv.ApcvClient(soap.SoapClient(http, str(http.base_url), self._policy),
                                         self._lps)
                await client.destroy(context_id, [assertion])


@contextlib.contextmanager
def _outcomes() -> Iterator[None]:
    """SOAP errors as the API's ApCV outcomes; card errors pass through unchanged."""
    try:
        yield
    except soap.SoapFault as fault:
        if fault.code == "Sender" and not fault.transient:
            raise ApcvRefused(fault.reason, fault.service_codes) from fault
        raise ApcvUnavailable(str(fault)) from fault
    except apcv.ApcvRequestError as exc:
        raise ApcvRefused(str(exc), ()) from exc
    except (soap.SoapError, httpx.HTTPError) as exc:
        raise ApcvUnavailable(str(exc).splitlines()[0][:200] if str(exc) else
                              type(exc).__name__) from exc
