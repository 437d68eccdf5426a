"""ApCV client: the application carte Vitale read through the GIE SESAM-Vitale services.

Facts (DOMAIN.md "ApCV"): SOAP 1.2; ``…/wssoap/apcv/auth/1/0`` with
``urn:ApCV_AUTH:1.0.0:authentifierUtilisateurProximite`` (body
``AuthentifierUtilisateurProximiteReq version="1.0"`` in ``http://www.sesam-vitale.fr/apcv/
auth/1/0``: ``ProfessionnelSante{IdentifiantFacturation (numéro + clé), CodeSpecialiteAMO}``
and ``Donnees`` = the scanned QR content) which creates a server-side context,
``…:restituerContexteApCV`` (empty ``RestituerContexteApCVReq``) which returns it,
``…:detruireContexteApCV`` (``DetruireContexteApCVReq{ContexteApCV{Identifiant}}``) which ends
it; ``…/wssoap/apcv/sign/1/0`` with ``urn:ApCV_SIGN:1.0.0:signerVitale`` (``SignerVitaleReq``:
context id, ``Facture{NIRAssure, DonneeFSE, DonneeDRE}``, ``ResumeFacture``). Every call
carries ``wsa:Action``, ``wsa:MessageID``, ``ContexteLPS`` and, in ``wsse:Security``, the
assertion PS signed with the CPS signature key (:mod:`cps_assertion`), no ContexteBAM.

**Modelled, not public** (docs/scanning.md says so): the answers' element names and content
(``ContexteApCV`` with ``Identifiant``, ``DateExpiration``, the holder and dependants), the
fault codes, the sub-elements of ``ResumeFacture`` and the signature returned. They are kept
in this one module, behind :class:`ApcvClient`, so the GIE's real contract (or its licensed
SDK) replaces them without touching the rest of the box.

The answer reaches the counter as a :class:`ApcvRead`: the same :class:`VitaleRead` a card
read gives (beneficiaries, NIR checks), with its source marked (``apcv-qr`` / ``apcv-nfc``).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from lxml import etree

from drivers.cards.nir import check as nir_check
from drivers.cards.vitale_model import (
    AmcContract,
    Beneficiary,
    BirthDate,
    CardInfo,
    Exemption,
    Insured,
    RightsPeriod,
    Scheme,
    VitaleRead,
    parse_date,
)
from hostd.teleservices import soap

AUTH_NS = "http://www.sesam-vitale.fr/apcv/auth/1/0"
SIGN_NS = "http://www.sesam-vitale.fr/apcv/sign/1/0"
AUTH_PATH = "/wssoap/apcv/auth/1/0"
SIGN_PATH = "/wssoap/apcv/sign/1/0"
ACTION_AUTH = "urn:ApCV_AUTH:1.0.0:authentifierUtilisateurProximite"
ACTION_RESTITUER = "urn:ApCV_AUTH:1.0.0:restituerContexteApCV"
ACTION_DETRUIRE = "urn:ApCV_AUTH:1.0.0:detruireContexteApCV"
ACTION_SIGNER = "urn:ApCV_SIGN:1.0.0:signerVitale"
MAX_DONNEES = 4096
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


class ApcvAnswerError(soap.SoapProtocolError):
    """The service's answer does not hold what the (modelled) contract says it holds."""


class ApcvRequestError(ValueError):
    """A request the box refuses to send (one line, the caller's fault)."""


@dataclass(frozen=True)
class ProfessionnelSante:
    """``IdentifiantFacturation`` (8-digit number + 1-digit key) and ``CodeSpecialiteAMO``
    (2 digits; pharmacies bill under their own specialty code)."""

    numero: str
    cle: str
    specialite: str

    def __post_init__(self) -> None:
        if not (len(self.numero) == 8 and self.numero.isdigit()):
            raise ApcvRequestError("IdentifiantFacturation: the number must be 8 digits")
        if not (len(self.cle) == 1 and self.cle.isdigit()):
            raise ApcvRequestError("IdentifiantFacturation: the key must be 1 digit")
        if not (len(self.specialite) == 2 and self.specialite.isdigit()):
            raise ApcvRequestError("CodeSpecialiteAMO must be 2 digits")


@dataclass(frozen=True)
class ApcvContext:
    identifiant: str
    expires: dt.datetime


@dataclass(frozen=True)
class ApcvRead:
    """A Vitale read that came from the application carte Vitale."""

    source: str  # apcv-qr | apcv-nfc
    context: ApcvContext
    read: VitaleRead

    def to_dict(self) -> dict[str, Any]:
        out = self.read.to_dict()
        out["source"] = self.source
        out["apcv_context"] = {"id": self.context.identifiant,
                               "expires": self.context.expires.isoformat()}
        return out


@dataclass(frozen=True)
class Facture:
    """What ``signerVitale`` signs: the invoice's hashes (hex SHA-256) for the insured."""

    nir_assure: str
    donnee_fse: str
    donnee_dre: str
    montant_total_cents: int
    numero_facture: str

    def __post_init__(self) -> None:
        if not nir_check(self.nir_assure).valid:
            raise ApcvRequestError("NIRAssure is not a valid NIR")
        for name in ("donnee_fse", "donnee_dre"):
            if not _HEX64.fullmatch(getattr(self, name)):
                raise ApcvRequestError(f"{name}: a SHA-256 hash in hex (64 characters)")
        if not 0 <= self.montant_total_cents <= 10_000_000:
            raise ApcvRequestError("montant_total_cents out of range")
        if not (self.numero_facture.isdigit() and 1 <= len(self.numero_facture) <= 9):
            raise ApcvRequestError("numero_facture must be 1-9 digits")


def _sub(parent: Any, ns: str, tag: str, text: str | None = None, **attrs: str) -> Any:
    el = etree.SubElement(parent, f"{{{ns}}}{tag}", **attrs)
    if text is not None:
        el.text = text
    return el


def auth_body(ps: ProfessionnelSante, donnees: str) -> Any:
    if not donnees or len(donnees) > MAX_DONNEES or not donnees.isprintable():
        raise ApcvRequestError("Donnees: the scanned content must be 1-4096 printable characters")
    root = etree.Element(f"{{{AUTH_NS}}}AuthentifierUtilisateurProximiteReq",
                         nsmap={"apcv": AUTH_NS}, version="1.0")
    pro = _sub(root, AUTH_NS, "ProfessionnelSante")
    ident = _sub(pro, AUTH_NS, "IdentifiantFacturation")
    _sub(ident, AUTH_NS, "Numero", ps.numero)
    _sub(ident, AUTH_NS, "Cle", ps.cle)
    _sub(pro, AUTH_NS, "CodeSpecialiteAMO", ps.specialite)
    _sub(root, AUTH_NS, "Donnees", donnees)
    return root


def restituer_body() -> Any:
    return etree.Element(f"{{{AUTH_NS}}}RestituerContexteApCVReq", nsmap={"apcv": AUTH_NS},
                         version="1.0")


def detruire_body(context_id: str) -> Any:
    root = etree.Element(f"{{{AUTH_NS}}}DetruireContexteApCVReq", nsmap={"apcv": AUTH_NS},
                         version="1.0")
    _sub(_sub(root, AUTH_NS, "ContexteApCV"), AUTH_NS, "Identifiant", context_id)
    return root


def signer_body(context_id: str, facture: Facture) -> Any:
    root = etree.Element(f"{{{SIGN_NS}}}SignerVitaleReq", nsmap={"sign": SIGN_NS},
                         version="1.0")
    _sub(_sub(root, SIGN_NS, "ContexteApCV"), SIGN_NS, "Identifiant", context_id)
    fac = _sub(root, SIGN_NS, "Facture")
    _sub(fac, SIGN_NS, "NIRAssure", facture.nir_assure)
    _sub(fac, SIGN_NS, "DonneeFSE", facture.donnee_fse.lower())
    _sub(fac, SIGN_NS, "DonneeDRE", facture.donnee_dre.lower())
    resume = _sub(root, SIGN_NS, "ResumeFacture")
    _sub(resume, SIGN_NS, "NumeroFacture", facture.numero_facture)
    _sub(resume, SIGN_NS, "MontantTotal", str(facture.montant_total_cents))
    return root


# -- parsing the (modelled) context ----------------------------------------------------------


def _t(el: Any, path: str, required: bool = True) -> str | None:
    value = el.findtext(path, namespaces={"a": AUTH_NS})
    if value is None and required:
        raise ApcvAnswerError(f"ContexteApCV without {path.replace('a:', '')}")
    return value.strip() if value is not None else None


def _date(el: Any, path: str, required: bool = True) -> dt.date | None:
    text = _t(el, path, required)
    return parse_date(path, text.replace("-", "")) if text else None


def _datetime(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApcvAnswerError(f"DateExpiration {text!r} is not a date-time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def parse_context(body: Any, source: str) -> ApcvRead:
    """``RestituerContexteApCVResp`` → :class:`ApcvRead` (validated by the value objects)."""
    if body.tag != f"{{{AUTH_NS}}}RestituerContexteApCVResp":
        raise ApcvAnswerError(f"answer is {body.tag}, not RestituerContexteApCVResp")
    ctx = body.find("a:ContexteApCV", {"a": AUTH_NS})
    if ctx is None:
        raise ApcvAnswerError("RestituerContexteApCVResp without ContexteApCV")
    ns = {"a": AUTH_NS}
    try:
        app = ctx.find("a:Application", ns)
        card = CardInfo(_t(app, "a:Type") or "", _t(app, "a:NumeroSerie") or "",
                        _date(app, "a:DateDebutValidite") or dt.date.min)
        assure = ctx.find("a:Assure", ns)
        regime = assure.find("a:Regime", ns)
        insured = Insured(
            nir_check(_t(assure, "a:NIR") or ""),
            Scheme(_t(regime, "a:CodeRegime") or "", _t(regime, "a:Caisse") or "",
                   _t(regime, "a:Centre") or "", _t(regime, "a:CodeGestion") or ""),
            tuple(RightsPeriod(_date(p, "a:Debut") or dt.date.min, _date(p, "a:Fin", False))
                  for p in assure.iterfind("a:DroitsAMO", ns)),
            tuple(Exemption(_t(e, "a:Code") or "", _date(e, "a:Debut") or dt.date.min,
                            _date(e, "a:Fin", False))
                  for e in assure.iterfind("a:Exoneration", ns)),
        )
        beneficiaries = tuple(
            Beneficiary(
                nom_usuel=_t(b, "a:NomUsuel") or "", prenom=_t(b, "a:Prenom") or "",
                birth_date=BirthDate(_t(b, "a:DateNaissance") or ""),
                rang=int(_t(b, "a:Rang") or "0"), qualite=_t(b, "a:Qualite") or "",
                nom_naissance=_t(b, "a:NomNaissance", False),
                nir=nir_check(n) if (n := _t(b, "a:NIR", False)) else None,
                rights_end=_date(b, "a:FinDroits", False),
            )
            for b in ctx.iterfind("a:Beneficiaire", ns)
        )
        amc = tuple(
            AmcContract(_t(c, "a:Organisme") or "", _t(c, "a:Nom") or "",
                        _t(c, "a:Adherent", False), _date(c, "a:Debut") or dt.date.min,
                        _date(c, "a:Fin", False))
            for c in ctx.iterfind("a:AMC", ns)
        )
        read = VitaleRead(card, insured, beneficiaries, amc)
    except (ValueError, AttributeError) as exc:
        raise ApcvAnswerError(f"ContexteApCV: {exc}".splitlines()[0][:200]) from None
    context = ApcvContext(_t(ctx, "a:Identifiant") or "", _datetime(_t(ctx, "a:DateExpiration")
                                                                   or ""))
    return ApcvRead(source, context, read)


# -- the client ------------------------------------------------------------------------------


def https_client(trust_pem: bytes, host: str, port: int, server_name: str) -> httpx.AsyncClient:
    """Server-authenticated HTTPS to the GIE (the public facts name no client certificate for
    ApCV: the CPS assertion authenticates each call). ``host`` is where to connect; the
    certificate must name ``server_name`` (sent as SNI and checked), so a box configured with
    an address still verifies the service's name."""
    ctx = ssl.create_default_context(cadata=trust_pem.decode("ascii"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2

    async def name_it(request: httpx.Request) -> None:
        request.extensions["sni_hostname"] = server_name

    return httpx.AsyncClient(verify=ctx, base_url=f"https://{host}:{port}",
                             event_hooks={"request": [name_it]})


@dataclass(frozen=True)
class SignedInvoice:
    context_id: str
    signature: bytes
    certificate_der: bytes  # the GIE's signing certificate, as sent back


class ApcvClient:
    """One :class:`~hostd.teleservices.soap.SoapClient` per service path's host (the GIE's).

    ``security`` is the ``wsse:Security`` content: the assertion PS, made by the caller once
    per exchange (one CPS signature for authentifier + restituer), copied into each call.
    """

    def __init__(self, client: soap.SoapClient, lps: soap.LpsIdentity,
                 auth_path: str = AUTH_PATH, sign_path: str = SIGN_PATH) -> None:
        self._client = client
        self._lps = lps
        self._auth = auth_path
        self._sign = sign_path

    def _env(self, action: str, body: Any, security: Sequence[Any]) -> soap.Envelope:
        if not security:
            raise ApcvRequestError("every ApCV call needs the assertion PS in wsse:Security")
        headers = [soap.contexte_lps(self._lps, dt.datetime.now(dt.UTC))]
        return soap.envelope(action, body, headers,
                             [etree.fromstring(etree.tostring(s)) for s in security])

    async def authenticate(self, ps: ProfessionnelSante, donnees: str,
                           security: Sequence[Any]) -> str:
        """Creates the context from the QR/NFC content; returns its identifier."""
        env = self._env(ACTION_AUTH, auth_body(ps, donnees), security)
        # Not idempotent: the QR content is single-use, a blind retry would be refused.
        answer = await self._client.call(self._auth, env, idempotent=False)
        ident = answer.body.findtext(f"{{{AUTH_NS}}}ContexteApCV/{{{AUTH_NS}}}Identifiant")
        if answer.body.tag != f"{{{AUTH_NS}}}AuthentifierUtilisateurProximiteResp" or not ident:
            raise ApcvAnswerError("authentifierUtilisateurProximite answer without a context")
        return str(ident).strip()

    async def restore(self, security: Sequence[Any], source: str) -> ApcvRead:
        env = self._env(ACTION_RESTITUER, restituer_body(), security)
        answer = await self._client.call(self._auth, env, idempotent=True)
        return parse_context(answer.body, source)

    async def destroy(self, context_id: str, security: Sequence[Any]) -> None:
        env = self._env(ACTION_DETRUIRE, detruire_body(context_id), security)
        answer = await self._client.call(self._auth, env, idempotent=True)
        if answer.body.tag != f"{{{AUTH_NS}}}DetruireContexteApCVResp":
            raise ApcvAnswerError("detruireContexteApCV answer is not DetruireContexteApCVResp")

    async def read(self, ps: ProfessionnelSante, donnees: str, security: Sequence[Any],
                   source: str = "apcv-qr") -> ApcvRead:
        """authentifier then restituer: the whole read, one assertion."""
        context_id = await self.authenticate(ps, donnees, security)
        result = await self.restore(security, source)
        if result.context.identifiant != context_id:
            raise ApcvAnswerError("restituerContexteApCV returned another context")
        return result

    async def sign(self, context_id: str, facture: Facture,
                   security: Sequence[Any]) -> SignedInvoice:
        env = self._env(ACTION_SIGNER, signer_body(context_id, facture), security)
        answer = await self._client.call(self._sign, env, idempotent=False)
        ns = {"s": SIGN_NS}
        if answer.body.tag != f"{{{SIGN_NS}}}SignerVitaleResp":
            raise ApcvAnswerError("signerVitale answer is not SignerVitaleResp")
        sig = answer.body.findtext("s:Signature", namespaces=ns)
        cert = answer.body.findtext("s:Certificat", namespaces=ns)
        if not sig or not cert:
            raise ApcvAnswerError("SignerVitaleResp without Signature and Certificat")
        try:
            return SignedInvoice(context_id, base64.b64decode(sig, validate=True),
                                 base64.b64decode(cert, validate=True))
        except ValueError:
            raise ApcvAnswerError("SignerVitaleResp: Signature/Certificat not base64") from None
