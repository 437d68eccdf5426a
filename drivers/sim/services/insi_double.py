"""Test double of INSi (``ICIR-v1``), written from DOMAIN.md "INSi" only.

What it checks, in the order a request meets them:
1. HTTPS, TLS 1.2, a client certificate chained to the TEST IGC-Santé root (:mod:`https`);
2. a SOAP 1.2 envelope, ``wsa:Action`` one of the two searches, ``wsa:MessageID`` ``uuid:…``;
3. ``ContexteLPS`` and ``ContexteBAM`` valid against the schemas in ``schemas/`` (written here
   from the public element names), the LPS IDAM known (else ``siram_100`` + ``desir_550``);
4. who calls: with a ``wsse:Security`` header (CPx mode), a SAML assertion whose signature
   xmlsec1 accepts against the TEST root, made by a CPS signature (non-repudiation) certificate
   of the PERSONNES branch, ``NameQualifier="CPS"``, within its validity; without it
   (certificate mode), a client certificate from the ORGANISATIONS branch whose CN is
   ``INSI-AUTO`` or ``INSI-MANU``. Anything else: ``desir_560`` (droits insuffisants);
5. the body valid against ``recsans.xsd`` / ``recvit.xsd``;
6. the answer from ``insi_fixtures.toml`` (CR 00/01/02), or ``siram_40`` + ``insi_102`` for the
   "unavailable" fixture and while :attr:`InsiDouble.unavailable_calls` is above zero.
"""

from __future__ import annotations

import base64
import threading
import time
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from drivers.sim import testpki
from drivers.sim.services import soap_double, xmlsec
from drivers.sim.services.https import DoubleRequest, DoubleResponse, HttpsDouble
from drivers.sim.services.soap_double import WSSE_NS, Fault

HERE = Path(__file__).parent
SCHEMAS = HERE / "schemas"
FIXTURES = HERE / "insi_fixtures.toml"
PATH = "/ICIR-v1"
RECSANS_NS = "http://www.cnamts.fr/INSiRecSans"
RECVIT_NS = "http://www.cnamts.fr/INSiRecVit"
RESULT_NS = "http://www.cnamts.fr/INSiResultat"
CTXLPS_NS = "urn:siram:lps:ctxlps"
CTXBAM_NS = "urn:siram:bam:ctxbam"
SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
ACTIONS = {
    "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite": "traits",
    "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale": "vitale",
}
INSI_CNS = ("INSI-AUTO", "INSI-MANU")


@dataclass(frozen=True)
class Identity:
    nom: str
    prenoms: tuple[str, ...]
    sexe: str
    date: str
    lieu: str
    ins: str
    cle: str
    oid: str
    history: tuple[dict[str, str], ...] = ()
    vitale: dict[str, Any] | None = None


@dataclass
class Fixtures:
    identities: list[Identity]
    unavailable_nom: str
    known_idam: frozenset[str]

    @classmethod
    def load(cls, path: Path = FIXTURES) -> Fixtures:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        people = [
            Identity(
                i["nom"], tuple(i["prenoms"]), i["sexe"], i["date"], i["lieu"], i["ins"],
                i["cle"], i["oid"], tuple(i.get("history", ())), i.get("vitale"),
            )
            for i in raw["identity"]
        ]
        faults = raw["faults"]
        return cls(people, faults["unavailable_nom"], frozenset(faults["known_idam"]))


def _schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


@dataclass
class Counters:
    calls: int = 0
    certificate_mode: int = 0
    cpx_mode: int = 0
    xmlsec_s: float = 0.0  # time spent in xmlsec1 (a subprocess per CPx call)
    faults: dict[str, int] = field(default_factory=dict)


class InsiDouble:
    """The handler; serve it with :func:`serve`."""

    def __init__(self, root_pem: Path, personnes_pem: Path, fixtures: Fixtures | None = None
                 ) -> None:
        self._root = root_pem
        self._personnes = personnes_pem
        self.fixtures = fixtures or Fixtures.load()
        self._schemas = {
            f"{{{CTXLPS_NS}}}ContexteLPS": _schema("ctxlps.xsd"),
            f"{{{CTXBAM_NS}}}ContexteBAM": _schema("ctxbam.xsd"),
            f"{{{RECSANS_NS}}}RECSANSVITALE": _schema("recsans.xsd"),
            f"{{{RECVIT_NS}}}RECVITALE": _schema("recvit.xsd"),
        }
        self._lock = threading.Lock()
        self.unavailable_calls = 0
        self.counters = Counters()

    # -- checks ------------------------------------------------------------------------------

    def _valid(self, el: Any) -> None:
        schema = self._schemas.get(el.tag)
        if schema is None:
            raise Fault(True, f"élément inattendu {etree.QName(el).localname}")
        doc = etree.fromstring(etree.tostring(el))
        if not schema.validate(doc):
            err = schema.error_log.last_error
            raise Fault(True, f"{etree.QName(el).localname} non conforme: {err.message}")

    def _caller(self, header: Any, cert: x509.Certificate | None) -> str:
        security = header.find(f"{{{WSSE_NS}}}Security")
        if security is None:
            if cert is None or _issuer_cn(cert) != testpki.ORGANISATIONS_CN:
                raise Fault(True, "droits insuffisants", "desir_560")
            cn = _cn(cert.subject)
            if cn not in INSI_CNS:
                raise Fault(True, f"droits insuffisants (certificat {cn})", "desir_560")
            return "certificate"
        assertion = security.find(f"{{{SAML_NS}}}Assertion")
        if assertion is None:
            raise Fault(True, "droits insuffisants: pas d'assertion", "desir_560")
        started = time.perf_counter()
        problem = xmlsec.verify_assertion(
            etree.tostring(assertion), self._root, [self._personnes]
        )
        with self._lock:
            self.counters.xmlsec_s += time.perf_counter() - started
        if problem:
            raise Fault(True, f"droits insuffisants: signature refusée ({problem})",
                        "desir_560")
        self._check_assertion(assertion)
        return "cpx"

    @staticmethod
    def _check_assertion(assertion: Any) -> None:
        ns = {"saml2": SAML_NS, "ds": DS_NS}
        b64 = assertion.findtext("ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate",
                                 namespaces=ns)
        cert = x509.load_der_x509_certificate(base64.b64decode("".join((b64 or "").split())))
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if _issuer_cn(cert) != testpki.PERSONNES_CN or not usage.content_commitment:
            raise Fault(True, "droits insuffisants: pas une clé de signature CPS", "desir_560")
        name_id = assertion.find("saml2:Subject/saml2:NameID", ns)
        if name_id is None or name_id.get("NameQualifier") != "CPS":
            raise Fault(True, "droits insuffisants: NameID sans NameQualifier CPS", "desir_560")
        cond = assertion.find("saml2:Conditions", ns)
        now = datetime.now(UTC)
        if cond is None or not (
            _when(cond.get("NotBefore")) <= now < _when(cond.get("NotOnOrAfter"))
        ):
            raise Fault(True, "droits insuffisants: assertion hors validité", "desir_560")

    # -- the service ---------------------------------------------------------------------------

    def handle(self, req: DoubleRequest) -> DoubleResponse:
        with self._lock:
            self.counters.calls += 1
        try:
            if req.path != PATH:
                return DoubleResponse(404, "text/plain", b"not found")
            header, body, action, message_id = soap_double.addressed(req, ACTIONS)
            lps = header.find(f"{{{CTXLPS_NS}}}ContexteLPS")
            bam = header.find(f"{{{CTXBAM_NS}}}ContexteBAM")
            if lps is None or bam is None:
                raise Fault(True, "ContexteLPS et ContexteBAM obligatoires")
            self._valid(lps)
            self._valid(bam)
            if lps.findtext(f"{{{CTXLPS_NS}}}LPS/{{{CTXLPS_NS}}}IDAM") not in (
                self.fixtures.known_idam
            ):
                raise Fault(True, "logiciel inconnu", "siram_100", "desir_550",
                            message_id=message_id)
            mode = self._caller(header, req.client_cert)
            with self._lock:
                if mode == "cpx":
                    self.counters.cpx_mode += 1
                else:
                    self.counters.certificate_mode += 1
            self._valid(body)
            kind = ACTIONS[action]
            expected = RECSANS_NS if kind == "traits" else RECVIT_NS
            if etree.QName(body).namespace != expected:
                raise Fault(True, "corps de requête ne correspondant pas à l'action")
            nom = body.findtext(f"{{{expected}}}NomNaissance")
            with self._lock:
                busy = self.unavailable_calls > 0
                self.unavailable_calls = max(0, self.unavailable_calls - 1)
            if busy or nom == self.fixtures.unavailable_nom:
                raise Fault(False, "service momentanément indisponible", "siram_40", "insi_102",
                            message_id=message_id)
            found = self._traits(body) if kind == "traits" else self._vitale(body, bam)
            return soap_double.answer(_resultat(found), message_id)
        except Fault as f:
            return soap_double.counted_fault(f, self.counters.faults, self._lock)

    def _traits(self, body: Any) -> list[Identity]:
        def t(tag: str) -> str | None:
            value: str | None = body.findtext(f"{{{RECSANS_NS}}}{tag}")
            return value

        prenoms = tuple(p.text for p in body.iterfind(f"{{{RECSANS_NS}}}Prenom"))
        lieu = t("LieuNaissance")
        return [
            i for i in self.fixtures.identities
            if i.nom == t("NomNaissance") and i.sexe == t("Sexe") and i.date == t("DateNaissance")
            and (lieu is None or lieu == i.lieu)
            and (prenoms == i.prenoms or (len(prenoms) == 1 and prenoms[0] == i.prenoms[0]))
        ]

    def _vitale(self, body: Any, bam: Any) -> list[Identity]:
        ns = {"v": RECVIT_NS, "b": CTXBAM_NS}
        if bam.find("b:COUVERTURE/b:ASSURE", ns) is None:
            raise Fault(True, "ContexteBAM/COUVERTURE sans les données de la carte Vitale")
        mat = body.findtext("v:MatriculeIndividu/v:NumIdentifiant", namespaces=ns)
        rang = int(body.findtext("v:RangNaissance", namespaces=ns) or "0")
        return [
            i for i in self.fixtures.identities
            if i.vitale is not None and i.vitale["matricule"] == mat
            and i.vitale["rang"] == rang
            and i.date == body.findtext("v:DateNaissance", namespaces=ns)
            and i.nom == body.findtext("v:NomNaissance", namespaces=ns)
        ]


def _cn(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def _issuer_cn(cert: x509.Certificate) -> str:
    return _cn(cert.issuer)


def _when(text: str | None) -> datetime:
    if not text:
        return datetime.max.replace(tzinfo=UTC)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _sub(parent: Any, tag: str, text: str | None = None) -> Any:
    el = etree.SubElement(parent, f"{{{RESULT_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _ins(parent: Any, tag: str, ins: str, cle: str, oid: str, debut: str | None,
         fin: str | None) -> None:
    el = _sub(parent, tag)
    ident = _sub(el, "IdIndividu")
    _sub(ident, "NumIdentifiant", ins)
    _sub(ident, "Cle", cle)
    _sub(el, "OID", oid)
    if debut:
        _sub(el, "DateDeb", debut)
    if fin:
        _sub(el, "DateFin", fin)


def _resultat(found: list[Identity]) -> Any:
    root = etree.Element(f"{{{RESULT_NS}}}RESULTAT", nsmap={"r": RESULT_NS})
    cr = _sub(root, "CR")
    if not found:
        _sub(cr, "CodeCR", "01")
        _sub(cr, "LibelleCR", "Aucune identité trouvée")
        return root
    if len(found) > 1:
        _sub(cr, "CodeCR", "02")
        _sub(cr, "LibelleCR", "Plusieurs identités trouvées")
        return root
    who = found[0]
    _sub(cr, "CodeCR", "00")
    _sub(cr, "LibelleCR", "OK")
    ind = _sub(root, "INDIVIDU")
    _ins(ind, "INSACTIF", who.ins, who.cle, who.oid, None, None)
    for h in who.history:
        _ins(ind, "INSHISTO", h["ins"], h["cle"], h["oid"], h.get("debut"), h.get("fin"))
    tiq = _sub(ind, "TIQ")
    _sub(tiq, "NomNaissance", who.nom)
    _sub(tiq, "Prenom", who.prenoms[0])
    _sub(tiq, "ListePrenom", " ".join(who.prenoms))
    _sub(tiq, "Sexe", who.sexe)
    _sub(tiq, "DateNaissance", who.date)
    _sub(tiq, "LieuNaissance", who.lieu)
    return root


def serve(double: InsiDouble, cert_chain: Path, key: Path, client_roots: Path) -> HttpsDouble:
    return HttpsDouble(double.handle, cert_chain, key, client_roots).start()
