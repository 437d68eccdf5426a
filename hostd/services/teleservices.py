"""INSi and DMP for every counter, through the box's keys, audited.

Certificate mode uses the ORG AUTH_CLI key through the mTLS tunnel; CPx mode adds the
assertion PS signed by the CPS in ``cps_reader`` — a job in that card's queue, so any counter
can run it while the card is unlocked, and it fails the same way as any CPS signature when the
card is locked or pulled (nothing is sent to INSi then).

What the audit keeps, and why: who (client, operator), what (action, mode, search kind, DMP
service), the outcome (CR code, number of service calls, fault codes, HTTP status; for a
relay the sizes, whether it was MTOM and how many attachments, never a document or its
Content-ID) — enough to answer "who queried what, when, with what result". No trait (name,
first names, birth date or place) and no INS in clear: the log is append-only and kept for
years, and a counter already holds the patient file. The INS appears only as ``ins_ref``
(``hostd.pseudonyms`` says why and how).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from drivers.cards.cps_model import KeyRole
from drivers.cards.vitale_model import VitaleRead
from hostd.audit import AuditLog
from hostd.outcomes import CANCELLED, OK, outcome_of
from hostd.pseudonyms import ins_ref
from hostd.services.cps import CpsService
from hostd.services.jobs import Caller, record
from hostd.services.readers import CardKind, ReaderHub
from hostd.teleservices import cps_assertion, dmp, insi, mtls, mtom, soap
from hostd.teleservices.errors import NoCpsForCpx, TeleserviceUnavailable, TunnelDown, TunnelError
from hostd.teleservices.ins_traits import Traits
from hostd.teleservices.names import Mode
from hostd.teleservices.settings import TeleserviceSettings
from provisioning.signing import vihf


@dataclass(frozen=True)
class TeleserviceParts:
    """What the wiring builds from the store; the app adds the CPS and Vitale services."""

    settings: TeleserviceSettings
    tunnel: mtls.TokenTlsTunnel
    sign_vihf: dmp.VihfSigner
    pseudonym_key: bytes = field(repr=False)


class TeleservicesService:
    def __init__(
        self,
        settings: TeleserviceSettings,
        tunnel: mtls.TokenTlsTunnel,
        sign_vihf: dmp.VihfSigner,
        audit: AuditLog,
        hub: ReaderHub,
        cps: CpsService,
        read_vitale: Callable[[str, Caller], Any],
        pseudonym_key: bytes,
    ) -> None:
        self.settings = settings
        self._tunnel = tunnel
        self._sign_vihf = sign_vihf
        self._audit = audit
        self._hub = hub
        self._cps = cps
        self._read_vitale = read_vitale
        self._key = pseudonym_key
        self._insi: insi.InsiClient | None = None
        self._dmp: dmp.DmpClient | None = None
        self._clients: list[Any] = []
        self._restart = asyncio.Lock()

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self._tunnel.start)
        policy = self.settings.policy
        insi_http = self._tunnel.http_client("insi")
        dmp_http = self._tunnel.http_client("dmp")
        self._clients = [insi_http, dmp_http]
        self._insi = insi.InsiClient(
            soap.SoapClient(insi_http, self._tunnel.base_url("insi"), policy),
            self.settings.lps, self.settings.insi.path,
        )
        self._dmp = dmp.DmpClient(
            soap.SoapClient(dmp_http, self._tunnel.base_url("dmp"), policy),
            self._sign_vihf, self.settings.lps.instance,
        )

    async def stop(self) -> None:
        for client in self._clients:
            await client.aclose()
        self._clients = []
        await asyncio.to_thread(self._tunnel.stop)

    async def _ready(self) -> tuple[insi.InsiClient, dmp.DmpClient]:
        """The clients; a tunnel whose stunnel died is restarted once here (bounded by
        ``TokenTlsTunnel.start``'s own wait), else the call is refused as :class:`TunnelDown`
        (503 teleservice-unavailable with ``Retry-After``: the next call tries again)."""
        if self._insi is None or self._dmp is None:
            raise TeleserviceUnavailable("INSi/DMP clients are not started")
        if not self._tunnel.running:
            async with self._restart:
                if not self._tunnel.running:
                    try:
                        await asyncio.to_thread(self._tunnel.start)
                    except TunnelError as exc:
                        raise TunnelDown(f"the TLS tunnel is down: {exc}") from exc
        return self._insi, self._dmp

    # -- audit -----------------------------------------------------------------------------------

    async def _audited(self, caller: Caller, action: str, target: str, work: Any,
                       detail: dict[str, Any], on_ok: Callable[[Any], dict[str, Any]]) -> Any:
        """Like ``jobs.audited`` (outcome = the problem slug the API answers), plus the
        service's fault codes and the search's own figures in the row's detail."""
        try:
            result = await work
        except asyncio.CancelledError:
            await record(self._audit, caller, action, target, CANCELLED, detail)
            raise
        except soap.SoapFault as fault:
            await record(self._audit, caller, action, target, outcome_of(fault),
                         detail | {"codes": list(fault.service_codes)})
            raise
        except Exception as exc:
            await record(self._audit, caller, action, target, outcome_of(exc), detail)
            raise
        await record(self._audit, caller, action, target, OK, detail | on_ok(result))
        return result

    # -- INSi ------------------------------------------------------------------------------------

    def _cps_reader(self, named: str | None) -> str:
        if named is not None:
            return named
        readers = [r.name for r in self._hub.readers() if r.kind is CardKind.CPS]
        if len(readers) != 1:
            raise NoCpsForCpx(
                "CPx mode needs the CPS reader: none has a CPS" if not readers else
                f"CPx mode: name the CPS reader ({', '.join(readers)})"
            )
        return readers[0]

    async def _assertion(self, reader: str, caller: Caller) -> Any:
        der = await self._cps.certificate(reader, KeyRole.SIGN, caller)
        cert = x509.load_der_x509_certificate(der)
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        national_id = str(cn[0].value).split("/", 1)[0] if cn else ""
        ps = cps_assertion.PsIdentity(national_id, self.settings.billing_id,
                                      self.settings.secteur_activite)
        key = cps_assertion.CpsSigningKey(cert,
                                          cps_assertion.CpsQueueSigner(self._cps, reader, caller))
        return await cps_assertion.make_assertion(key, ps)

    async def ins_search(
        self,
        caller: Caller,
        *,
        traits: Traits | None = None,
        vitale: tuple[str, int] | None = None,
        mode: Mode | None = None,
        cps_reader: str | None = None,
    ) -> insi.InsAnswer:
        """One search, by traits or from a beneficiary of the carte Vitale in a reader."""
        client, _ = await self._ready()
        chosen = mode or self.settings.default_mode
        by = "traits" if traits is not None else "vitale"
        detail: dict[str, Any] = {"mode": chosen.value, "by": by}

        async def work() -> insi.InsAnswer:
            query: insi.VitaleQuery | None = None
            if vitale is not None:
                reader, index = vitale
                read = await self._read_vitale(reader, caller)
                if not isinstance(read, VitaleRead):
                    raise TypeError("the Vitale read did not return a VitaleRead")
                query = insi.VitaleQuery.from_read(read, index)
            security: list[Any] = []
            if chosen is Mode.CPX:
                security = [await self._assertion(self._cps_reader(cps_reader), caller)]
            if query is not None:
                return await client.search_vitale(query, security)
            assert traits is not None
            return await client.search_traits(traits, security)

        def on_ok(answer: insi.InsAnswer) -> dict[str, Any]:
            return {
                "cr": answer.code, "calls": answer.calls,
                "ins_kind": answer.ins.kind if answer.ins else None,
                "ins_ref": ins_ref(self._key, answer.ins.ins) if answer.ins else None,
                "history": len(answer.history),
            }

        if (traits is None) == (vitale is None):
            raise ValueError("give either traits or a Vitale beneficiary")
        result: insi.InsAnswer = await self._audited(caller, "insi.search", "insi", work(),
                                                     detail, on_ok)
        return result

    # -- DMP ---------------------------------------------------------------------------------

    def _vihf_context(self, operator: dict[str, Any], ins: str) -> vihf.VihfContext:
        return vihf.VihfContext(
            operator_id=operator["id"], operator_name=operator["name"],
            profession=vihf.Code(operator["profession"], vihf.PROFESSION_SYSTEM,
                                 operator.get("profession_label") or operator["profession"]),
            cnop_section=(vihf.Code(operator["cnop_section"], vihf.CNOP_SECTION_SYSTEM,
                                    operator["cnop_section"])
                          if operator.get("cnop_section") else None),
            structure_id=self.settings.structure_id,
            secteur_activite=self.settings.dmp_secteur_activite,
            patient_ins=ins, lps_name=self.settings.lps.name,
            lps_version=self.settings.lps.version,
            lps_homologation_id=self.settings.dmp_homologation_id,
        )

    async def dmp_existence(self, caller: Caller, ins: str, operator: dict[str, Any]
                            ) -> dmp.DmpExistence:
        _, client = await self._ready()
        ctx = self._vihf_context(operator, ins)
        detail = {"ins_ref": ins_ref(self._key, ins)}
        result: dmp.DmpExistence = await self._audited(
            caller, "dmp.existence", "dmp", client.existence(ctx), detail,
            lambda r: {"found": r.found, "dmp_status": r.dmp_status},
        )
        return result

    async def dmp_relay(self, caller: Caller, service: str, content_type: str, body: bytes,
                        ins: str, operator: dict[str, Any]) -> dmp.RelayAnswer:
        _, client = await self._ready()
        ctx = self._vihf_context(operator, ins)
        # Sizes and counts only: never a document, its name or its Content-ID.
        detail = {"ins_ref": ins_ref(self._key, ins), "bytes": len(body),
                  "mtom": mtom.is_mtom(content_type)}
        result: dmp.RelayAnswer = await self._audited(
            caller, "dmp.relay", f"dmp/{service}", client.relay(service, content_type, body, ctx),
            detail,
            lambda r: {"status": r.status, "answer_bytes": len(r.body),
                       "attachments": r.attachments},
        )
        return result
