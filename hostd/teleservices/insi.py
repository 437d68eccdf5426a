"""INSi client (WSDL service ``ICIR-v1``): the patient's INS from traits or from a carte Vitale.

Facts from DOMAIN.md "INSi". Two searches:
- ``rechercherInsAvecTraitsIdentite`` (body ``RECSANSVITALE``): one call per first name in
  register order, then the whole list, stopping at the first CR 00 (what the INS guide asks of
  software: a patient known as "MARIE" whose register says "JEANNE MARIE" is still found);
- ``rechercherInsAvecCarteVitale`` (body ``RECVITALE`` + the card's data in
  ``ContexteBAM/COUVERTURE``): one call.

CR 01 (nobody) and CR 02 (several: add first names, then the COG) are answers, not errors.
Faults stay :class:`~hostd.teleservices.soap.SoapFault` with the service's codes.

Two modes: certificate mode (the mTLS tunnel with the INSI-AUTO/INSI-MANU key, no
``wsse:Security``) and CPx mode (the same tunnel plus the assertion PS in ``wsse:Security``,
made once per search by the caller, i.e. one card signature per search, not per call).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from drivers.cards.vitale_model import VitaleRead
from hostd.teleservices import ins_traits, soap
from hostd.teleservices.ins_traits import Traits
from hostd.teleservices.names import Mode

RECSANS_NS = "http://www.cnamts.fr/INSiRecSans"
RECVIT_NS = "http://www.cnamts.fr/INSiRecVit"
RESULT_NS = "http://www.cnamts.fr/INSiResultat"
CTXBAM_NS = "urn:siram:bam:ctxbam"
ACTION_BASE = "urn:ServiceIdentiteCertifiee:1.0.0:"
ACTION_TRAITS = ACTION_BASE + "rechercherInsAvecTraitsIdentite"
ACTION_VITALE = ACTION_BASE + "rechercherInsAvecCarteVitale"
OID_KINDS = {
    "1.2.250.1.213.1.4.8": "NIR",
    "1.2.250.1.213.1.4.9": "NIA",
    "1.2.250.1.213.1.4.10": "NIR (test)",
    "1.2.250.1.213.1.4.11": "NIA (test)",
}
# DOMAIN.md names MatriculeIndividu/TypeMatricule without its code list; "NIR" is our
# reading (the matricule sent is always a NIR read from the card).
TYPE_MATRICULE = "NIR"


class InsiAnswerError(soap.SoapProtocolError):
    """The service's RESULTAT does not hold what the contract says it holds."""


# -- the answer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InsIdentifier:
    """A matricule INS (13 + key) with its OID: NIR or NIA, and its validity dates."""

    matricule: str
    cle: str
    oid: str
    date_debut: str | None = None
    date_fin: str | None = None

    @property
    def kind(self) -> str:
        return OID_KINDS.get(self.oid, "unknown")

    @property
    def ins(self) -> str:
        return self.matricule + self.cle


@dataclass(frozen=True)
class InsTraits:
    """``TIQ``: the traits as the national register holds them (what documents must carry)."""

    nom_naissance: str
    prenom: str
    liste_prenom: str
    sexe: str
    date_naissance: str
    lieu_naissance: str | None


@dataclass(frozen=True)
class InsAnswer:
    code: str  # CR: "00" found, "01" none, "02" several
    label: str
    ins: InsIdentifier | None
    history: tuple[InsIdentifier, ...]
    traits: InsTraits | None
    mode: Mode
    calls: int  # service calls made for this search (first names, then the list)

    @property
    def found(self) -> bool:
        return self.code == "00"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["mode"] = self.mode.value
        out["history"] = [asdict(h) | {"kind": h.kind} for h in self.history]
        if self.ins is not None:
            out["ins"] = asdict(self.ins) | {"kind": self.ins.kind}
        return out


def _text(el: Any, path: str, ns: dict[str, str], required: bool = True) -> str | None:
    value = el.findtext(path, namespaces=ns)
    if value is None and required:
        raise InsiAnswerError(f"RESULTAT without {path.replace('r:', '')}")
    return value.strip() if value is not None else None


def _identifier(el: Any, ns: dict[str, str]) -> InsIdentifier:
    mat = _text(el, "r:IdIndividu/r:NumIdentifiant", ns) or ""
    cle = _text(el, "r:IdIndividu/r:Cle", ns) or ""
    oid = _text(el, "r:OID", ns) or ""
    if not (len(mat) == 13 and len(cle) == 2 and cle.isdigit()):
        raise InsiAnswerError("INS matricule must be 13 characters and a 2-digit key")
    if oid not in OID_KINDS:
        raise InsiAnswerError(f"INS OID {oid!r} is neither NIR nor NIA")
    return InsIdentifier(mat, cle, oid, _text(el, "r:DateDeb", ns, False),
                         _text(el, "r:DateFin", ns, False))


def parse_resultat(body: Any, mode: Mode, calls: int) -> InsAnswer:
    if body.tag != f"{{{RESULT_NS}}}RESULTAT":
        raise InsiAnswerError(f"answer is {body.tag}, not RESULTAT")
    ns = {"r": RESULT_NS}
    code = _text(body, "r:CR/r:CodeCR", ns) or ""
    label = _text(body, "r:CR/r:LibelleCR", ns, False) or ""
    if code not in ("00", "01", "02"):
        raise InsiAnswerError(f"unknown CodeCR {code!r}")
    if code != "00":
        return InsAnswer(code, label, None, (), None, mode, calls)
    ind = body.find("r:INDIVIDU", ns)
    if ind is None or ind.find("r:INSACTIF", ns) is None:
        raise InsiAnswerError("CR 00 without INDIVIDU/INSACTIF")
    tiq = ind.find("r:TIQ", ns)
    traits = None
    if tiq is not None:
        traits = InsTraits(
            _text(tiq, "r:NomNaissance", ns) or "", _text(tiq, "r:Prenom", ns) or "",
            _text(tiq, "r:ListePrenom", ns) or "", _text(tiq, "r:Sexe", ns) or "",
            _text(tiq, "r:DateNaissance", ns) or "", _text(tiq, "r:LieuNaissance", ns, False),
        )
    return InsAnswer(
        code, label, _identifier(ind.find("r:INSACTIF", ns), ns),
        tuple(_identifier(h, ns) for h in ind.iterfind("r:INSHISTO", ns)), traits, mode, calls,
    )


# -- the requests --------------------------------------------------------------------------


@dataclass(frozen=True)
class VitaleQuery:
    """What a RECVITALE search sends, taken from one beneficiary of a carte Vitale read."""

    matricule: str  # NIR body (13) of the beneficiary if certified, else the insured's
    cle: str
    nom_naissance: str
    date_naissance: str  # strict (lunar dates refused)
    rang: int
    assure_num: str
    assure_cle: str
    beneficiaire_nir: tuple[str, str] | None
    date_nai_card: str  # as read (YYYYMMDD) for ContexteBAM

    @classmethod
    def from_read(cls, read: VitaleRead, index: int) -> VitaleQuery:
        if not 0 <= index < len(read.beneficiaries):
            raise ins_traits.TraitsError(
                f"beneficiary: the card has {len(read.beneficiaries)} beneficiaries"
            )
        ben = read.beneficiaries[index]
        insured = read.insured.nir.nir
        if insured is None:
            raise ins_traits.TraitsError(f"NIR: the insured's NIR is not valid "
                                         f"({read.insured.nir.problem})")
        own = ben.nir.nir if ben.nir is not None else None
        matricule = own or insured
        return cls(
            matricule=matricule.number, cle=matricule.key,
            nom_naissance=ins_traits.normalise_nom(ben.nom_naissance or ben.nom_usuel),
            date_naissance=ins_traits.card_date(ben.birth_date.text), rang=ben.rang,
            assure_num=insured.number, assure_cle=insured.key,
            beneficiaire_nir=(own.number, own.key) if own else None,
            date_nai_card=ben.birth_date.text,
        )


def _sub(parent: Any, ns: str, tag: str, text: str | None = None) -> Any:
    el = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        el.text = text
    return el


def traits_body(traits: Traits, prenoms: Sequence[str]) -> Any:
    root = etree.Element(f"{{{RECSANS_NS}}}RECSANSVITALE", nsmap={"rs": RECSANS_NS})
    _sub(root, RECSANS_NS, "NomNaissance", traits.nom_naissance)
    for p in prenoms:
        _sub(root, RECSANS_NS, "Prenom", p)
    _sub(root, RECSANS_NS, "Sexe", traits.sexe)
    _sub(root, RECSANS_NS, "DateNaissance", traits.date_naissance)
    if traits.lieu_naissance:
        _sub(root, RECSANS_NS, "LieuNaissance", traits.lieu_naissance)
    return root


def vitale_body(q: VitaleQuery) -> Any:
    root = etree.Element(f"{{{RECVIT_NS}}}RECVITALE", nsmap={"rv": RECVIT_NS})
    mat = _sub(root, RECVIT_NS, "MatriculeIndividu")
    _sub(mat, RECVIT_NS, "NumIdentifiant", q.matricule)
    _sub(mat, RECVIT_NS, "Cle", q.cle)
    _sub(mat, RECVIT_NS, "TypeMatricule", TYPE_MATRICULE)
    _sub(root, RECVIT_NS, "NomNaissance", q.nom_naissance)
    _sub(root, RECVIT_NS, "DateNaissance", q.date_naissance)
    _sub(root, RECVIT_NS, "RangNaissance", str(q.rang))
    return root


def contexte_bam(lps: soap.LpsIdentity, now: datetime, q: VitaleQuery | None) -> Any:
    """``ctxbam:ContexteBAM`` 01_02; COUVERTURE is mandatory, empty in traits mode."""
    root = etree.Element(f"{{{CTXBAM_NS}}}ContexteBAM", nsmap={"ctxbam": CTXBAM_NS},
                         Version="01_02")
    _sub(root, CTXBAM_NS, "Id", str(uuid.uuid4()))
    _sub(root, CTXBAM_NS, "Temps", soap.instant(now))
    _sub(root, CTXBAM_NS, "Emetteur", lps.emitter)
    cov = _sub(root, CTXBAM_NS, "COUVERTURE")
    if q is not None:
        ident = _sub(_sub(cov, CTXBAM_NS, "ASSURE"), CTXBAM_NS, "Id")
        _sub(ident, CTXBAM_NS, "Num", q.assure_num)
        _sub(ident, CTXBAM_NS, "Cle", q.assure_cle)
        ben = _sub(cov, CTXBAM_NS, "BENEFICIAIRE")
        if q.beneficiaire_nir is not None:
            nir = _sub(ben, CTXBAM_NS, "Nir")
            _sub(nir, CTXBAM_NS, "Num", q.beneficiaire_nir[0])
            _sub(nir, CTXBAM_NS, "Cle", q.beneficiaire_nir[1])
        _sub(ben, CTXBAM_NS, "DateNai", q.date_nai_card)
        _sub(ben, CTXBAM_NS, "Rang", str(q.rang))
    return root


def prenom_attempts(prenoms: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Each first name alone, in order, then the whole list (once, if it differs)."""
    if not prenoms:
        return [()]
    attempts: list[tuple[str, ...]] = [(p,) for p in prenoms]
    if len(prenoms) > 1:
        attempts.append(prenoms)
    return attempts


class InsiClient:
    """Searches over one :class:`~hostd.teleservices.soap.SoapClient` (the INSi tunnel)."""

    def __init__(self, client: soap.SoapClient, lps: soap.LpsIdentity, path: str) -> None:
        self._client = client
        self._lps = lps
        self._path = path

    def _envelope(self, action: str, body: Any, q: VitaleQuery | None,
                  security: Sequence[Any]) -> soap.Envelope:
        now = datetime.now(UTC)
        headers = [soap.contexte_lps(self._lps, now), contexte_bam(self._lps, now, q)]
        # A fresh copy per call: an element can sit in one tree only.
        return soap.envelope(action, body, headers, [_copy(s) for s in security])

    async def search_traits(self, traits: Traits, security: Sequence[Any] = ()) -> InsAnswer:
        mode = Mode.CPX if security else Mode.CERTIFICATE
        best: InsAnswer | None = None
        attempts = prenom_attempts(traits.prenoms)
        for n, prenoms in enumerate(attempts, start=1):
            env = self._envelope(ACTION_TRAITS, traits_body(traits, prenoms), None, security)
            answer = await self._client.call(self._path, env, idempotent=True)
            result = parse_resultat(answer.body, mode, n)
            if result.found:
                return result
            # CR 02 (several) tells the operator more than CR 01: keep it if any call gave it.
            if best is None or result.code == "02":
                best = result
        assert best is not None
        return InsAnswer(best.code, best.label, None, (), None, mode, len(attempts))

    async def search_vitale(self, q: VitaleQuery, security: Sequence[Any] = ()) -> InsAnswer:
        mode = Mode.CPX if security else Mode.CERTIFICATE
        env = self._envelope(ACTION_VITALE, vitale_body(q), q, security)
        answer = await self._client.call(self._path, env, idempotent=True)
        return parse_resultat(answer.body, mode, 1)


def _copy(el: Any) -> Any:
    # Deep copy keeps the signed bytes: exclusive C14N does not depend on the new parent.
    return etree.fromstring(etree.tostring(el))


