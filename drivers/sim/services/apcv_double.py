"""Test double of the GIE SESAM-Vitale ApCV services, written from DOMAIN.md "ApCV" only.

What it checks, in the order a request meets them:
1. HTTPS (TLS 1.2) on 127.0.0.1 with a TEST server certificate; the public facts name no
   client certificate for ApCV (the CPS assertion authenticates), so none is asked;
2. a SOAP 1.2 envelope, ``wsa:Action`` one of the service's actions for that path,
   ``wsa:MessageID`` ``uuid:…``, a ``ContexteLPS`` valid against ``schemas/ctxlps.xsd`` with a
   known IDAM (else ``siram_100``), and no ContexteBAM (ApCV has none);
3. ``wsse:Security`` holding an assertion PS whose signature xmlsec1 accepts against the TEST
   IGC-Santé root, made with a CPS *signature* certificate (same rules as the INSi double);
4. the body valid against ``schemas/apcv_auth.xsd`` / ``apcv_sign.xsd`` (written here);
5. the QR/NFC content (``Donnees``): known (``apcv_fixtures.toml`` or :meth:`issue`), not
   past its validity, never used before — else a SOAP fault; then a context bound to the
   professional (the assertion's NameID) that ``restituerContexteApCV`` returns until it
   expires (``context_ttl_s``) or ``detruireContexteApCV`` ends it;
6. ``signerVitale`` on a live context signs the invoice hashes with the double's own TEST key.

The fault codes (``apcv_…``) and the answers' content are the double's model: the GIE's real
ones are not public (see :mod:`hostd.teleservices.apcv`).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import threading
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from drivers.cards.vitale_model import VitaleRead, format_date
from drivers.sim import testpki
from drivers.sim.services import soap_double, xmlsec
from drivers.sim.services.https import DoubleRequest, DoubleResponse, HttpsDouble
from drivers.sim.services.insi_double import CTXLPS_NS, SAML_NS, InsiDouble
from drivers.sim.services.soap_double import WSSE_NS, Fault
from drivers.sim.vitale_config import load_vitale_file

HERE = Path(__file__).parent
SCHEMAS = HERE / "schemas"
FIXTURES = HERE / "apcv_fixtures.toml"
CARDS = HERE.parent / "cards"
AUTH_NS = "http://www.sesam-vitale.fr/apcv/auth/1/0"
SIGN_NS = "http://www.sesam-vitale.fr/apcv/sign/1/0"
AUTH_PATH = "/wssoap/apcv/auth/1/0"
SIGN_PATH = "/wssoap/apcv/sign/1/0"
ACTIONS = {
    AUTH_PATH: {
        "urn:ApCV_AUTH:1.0.0:authentifierUtilisateurProximite": "auth",
        "urn:ApCV_AUTH:1.0.0:restituerContexteApCV": "restituer",
        "urn:ApCV_AUTH:1.0.0:detruireContexteApCV": "detruire",
    },
    SIGN_PATH: {"urn:ApCV_SIGN:1.0.0:signerVitale": "signer"},
}


@dataclass
class Qr:
    donnees: str
    card: str
    valid_until: dt.datetime
    used: bool = False


@dataclass
class Context:
    ident: str
    holder: str  # the professional (assertion NameID) the context belongs to
    read: VitaleRead
    expires: dt.datetime


@dataclass
class Counters:
    calls: int = 0
    assertions_checked: int = 0
    faults: dict[str, int] = field(default_factory=dict)


def _schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ApcvDouble:
    def __init__(self, root_pem: Path, personnes_pem: Path, fixtures: Path = FIXTURES) -> None:
        raw = tomllib.loads(fixtures.read_text(encoding="utf-8"))
        self._root = root_pem
        self._personnes = personnes_pem
        self.known_idam = frozenset(raw["known_idam"])
        self.context_ttl = dt.timedelta(seconds=float(raw.get("context_ttl_s", 600)))
        self._qrs = {q["donnees"]: Qr(q["donnees"], q["card"], _utc(q["valid_until"]))
                     for q in raw["qr"]}
        self._contexts: dict[str, Context] = {}
        self._current: dict[str, str] = {}  # holder -> context id (restituer has no id)
        self._schemas = {
            f"{{{CTXLPS_NS}}}ContexteLPS": _schema("ctxlps.xsd"),
            AUTH_NS: _schema("apcv_auth.xsd"),
            SIGN_NS: _schema("apcv_sign.xsd"),
        }
        self._lock = threading.Lock()
        self.counters = Counters()
        self.unavailable_calls = 0
        self.sign_key = testpki.new_rsa_key()
        self.sign_cert = _self_signed(self.sign_key)

    # -- the phone side: minting QR contents (tests, demo) -------------------------------------

    def issue(self, card: str, validity_s: float = 120.0) -> str:
        """A fresh single-use content, as the patient's app would show it."""
        donnees = "APCV1." + base64.urlsafe_b64encode(secrets.token_bytes(96)).decode().rstrip("=")
        with self._lock:
            self._qrs[donnees] = Qr(donnees, card, _now() + dt.timedelta(seconds=validity_s))
        return donnees

    def expire_contexts(self) -> None:
        """Ages every context past its expiry (tests of the expiry path without waiting)."""
        with self._lock:
            for ctx in self._contexts.values():
                ctx.expires = _now() - dt.timedelta(seconds=1)

    # -- checks --------------------------------------------------------------------------------

    def _valid(self, el: Any, key: str) -> None:
        schema = self._schemas[key]
        if not schema.validate(etree.fromstring(etree.tostring(el))):
            err = schema.error_log.last_error
            raise Fault(True, f"{etree.QName(el).localname} non conforme: {err.message}")

    def _holder(self, header: Any) -> str:
        security = header.find(f"{{{WSSE_NS}}}Security")
        assertion = security.find(f"{{{SAML_NS}}}Assertion") if security is not None else None
        if assertion is None:
            raise Fault(True, "authentification requise: pas d'assertion PS", "apcv_auth_01")
        problem = xmlsec.verify_assertion(etree.tostring(assertion), self._root,
                                          [self._personnes])
        if problem:
            raise Fault(True, f"assertion PS refusée ({problem})", "apcv_auth_02")
        try:
            InsiDouble._check_assertion(assertion)
        except Fault as f:
            raise Fault(True, f.reason, "apcv_auth_02") from None
        with self._lock:
            self.counters.assertions_checked += 1
        return str(assertion.findtext(f"{{{SAML_NS}}}Subject/{{{SAML_NS}}}NameID"))

    # -- the service ---------------------------------------------------------------------------

    def handle(self, req: DoubleRequest) -> DoubleResponse:
        with self._lock:
            self.counters.calls += 1
        try:
            actions = ACTIONS.get(req.path)
            if actions is None:
                return DoubleResponse(404, "text/plain", b"not found")
            header, body, action, message_id = soap_double.addressed(req, actions)
            lps = header.find(f"{{{CTXLPS_NS}}}ContexteLPS")
            if lps is None:
                raise Fault(True, "ContexteLPS obligatoire")
            if header.find("{urn:siram:bam:ctxbam}ContexteBAM") is not None:
                raise Fault(True, "ContexteBAM inattendu pour l'ApCV")
            self._valid(lps, lps.tag)
            if lps.findtext(f"{{{CTXLPS_NS}}}LPS/{{{CTXLPS_NS}}}IDAM") not in self.known_idam:
                raise Fault(True, "logiciel inconnu", "siram_100", message_id=message_id)
            holder = self._holder(header)
            self._valid(body, etree.QName(body).namespace or "")
            with self._lock:
                busy = self.unavailable_calls > 0
                self.unavailable_calls = max(0, self.unavailable_calls - 1)
            if busy:
                raise Fault(False, "service momentanément indisponible", "siram_40",
                            message_id=message_id)
            kind = actions[action]
            expected = f"{{{SIGN_NS if kind == 'signer' else AUTH_NS}}}"
            names = {"auth": "AuthentifierUtilisateurProximiteReq",
                     "restituer": "RestituerContexteApCVReq",
                     "detruire": "DetruireContexteApCVReq", "signer": "SignerVitaleReq"}
            if body.tag != expected + names[kind]:
                raise Fault(True, "corps de requête ne correspondant pas à l'action")
            out = getattr(self, f"_{kind}")(body, holder)
            return soap_double.answer(out, message_id)
        except Fault as f:
            return soap_double.counted_fault(f, self.counters.faults, self._lock)

    def _live(self, ident: str | None, holder: str) -> Context:
        ctx = self._contexts.get(ident or "")
        if ctx is None or ctx.holder != holder:
            raise Fault(True, "contexte ApCV inconnu", "apcv_ctx_01")
        if ctx.expires <= _now():
            del self._contexts[ctx.ident]
            raise Fault(True, "contexte ApCV expiré", "apcv_ctx_02")
        return ctx

    def _auth(self, body: Any, holder: str) -> Any:
        donnees = body.findtext(f"{{{AUTH_NS}}}Donnees") or ""
        with self._lock:
            qr = self._qrs.get(donnees)
            if qr is None:
                raise Fault(True, "données ApCV non reconnues", "apcv_qr_01")
            if qr.used:
                raise Fault(True, "données ApCV déjà utilisées", "apcv_qr_02")
            if qr.valid_until <= _now():
                raise Fault(True, "données ApCV expirées", "apcv_qr_03")
            qr.used = True
            read = load_vitale_file(CARDS / qr.card).content
            ctx = Context(f"ctx-{uuid.uuid4()}", holder, read, _now() + self.context_ttl)
            self._contexts[ctx.ident] = ctx
            self._current[holder] = ctx.ident
        root = etree.Element(f"{{{AUTH_NS}}}AuthentifierUtilisateurProximiteResp",
                             nsmap={"apcv": AUTH_NS})
        c = _sub(root, "ContexteApCV")
        _sub(c, "Identifiant", ctx.ident)
        _sub(c, "DateExpiration", ctx.expires.isoformat())
        return root

    def _restituer(self, body: Any, holder: str) -> Any:
        with self._lock:
            ctx = self._live(self._current.get(holder), holder)
        root = etree.Element(f"{{{AUTH_NS}}}RestituerContexteApCVResp", nsmap={"apcv": AUTH_NS})
        _context_xml(_sub(root, "ContexteApCV"), ctx)
        return root

    def _detruire(self, body: Any, holder: str) -> Any:
        ident = body.findtext(f"{{{AUTH_NS}}}ContexteApCV/{{{AUTH_NS}}}Identifiant")
        with self._lock:
            ctx = self._live(ident, holder)
            del self._contexts[ctx.ident]
            if self._current.get(holder) == ctx.ident:
                del self._current[holder]
        return etree.Element(f"{{{AUTH_NS}}}DetruireContexteApCVResp", nsmap={"apcv": AUTH_NS})

    def _signer(self, body: Any, holder: str) -> Any:
        ns = {"s": SIGN_NS}
        with self._lock:
            ctx = self._live(body.findtext("s:ContexteApCV/s:Identifiant", namespaces=ns),
                             holder)
        nir = body.findtext("s:Facture/s:NIRAssure", namespaces=ns) or ""
        if nir != ctx.read.insured.nir.text.replace(" ", ""):
            raise Fault(True, "NIRAssure différent de celui du contexte", "apcv_sign_01")
        data = "|".join(body.findtext(f"s:Facture/s:{t}", namespaces=ns) or ""
                        for t in ("NIRAssure", "DonneeFSE", "DonneeDRE")).encode()
        signature = self.sign_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        root = etree.Element(f"{{{SIGN_NS}}}SignerVitaleResp", nsmap={"sign": SIGN_NS})
        etree.SubElement(root, f"{{{SIGN_NS}}}Signature").text = base64.b64encode(
            signature).decode()
        etree.SubElement(root, f"{{{SIGN_NS}}}Certificat").text = base64.b64encode(
            self.sign_cert.public_bytes(serialization.Encoding.DER)).decode()
        return root


def _sub(parent: Any, tag: str, text: str | None = None) -> Any:
    el = etree.SubElement(parent, f"{{{AUTH_NS}}}{tag}")
    if text is not None:
        el.text = text
    return el


def _context_xml(c: Any, ctx: Context) -> None:
    r = ctx.read
    _sub(c, "Identifiant", ctx.ident)
    _sub(c, "DateExpiration", ctx.expires.isoformat())
    app = _sub(c, "Application")
    _sub(app, "Type", "ApCV")
    _sub(app, "NumeroSerie", r.card.serial)
    _sub(app, "DateDebutValidite", r.card.valid_from.isoformat())
    assure = _sub(c, "Assure")
    _sub(assure, "NIR", r.insured.nir.text.replace(" ", ""))
    reg = _sub(assure, "Regime")
    for tag, value in (("CodeRegime", r.insured.scheme.regime), ("Caisse", r.insured.scheme.caisse),
                       ("Centre", r.insured.scheme.centre),
                       ("CodeGestion", r.insured.scheme.gestion)):
        _sub(reg, tag, value)
    for p in r.insured.rights:
        d = _sub(assure, "DroitsAMO")
        _sub(d, "Debut", p.start.isoformat())
        if p.end:
            _sub(d, "Fin", p.end.isoformat())
    for e in r.insured.exemptions:
        x = _sub(assure, "Exoneration")
        _sub(x, "Code", e.code)
        _sub(x, "Debut", e.start.isoformat())
        if e.end:
            _sub(x, "Fin", e.end.isoformat())
    for b in r.beneficiaries:
        el = _sub(c, "Beneficiaire")
        _sub(el, "NomUsuel", b.nom_usuel)
        if b.nom_naissance:
            _sub(el, "NomNaissance", b.nom_naissance)
        _sub(el, "Prenom", b.prenom)
        _sub(el, "DateNaissance", b.birth_date.text)
        _sub(el, "Rang", str(b.rang))
        _sub(el, "Qualite", b.qualite)
        if b.nir is not None:
            _sub(el, "NIR", b.nir.text.replace(" ", ""))
        if b.rights_end:
            _sub(el, "FinDroits", format_date(b.rights_end))
    for a in r.amc:
        m = _sub(c, "AMC")
        _sub(m, "Organisme", a.organisme)
        _sub(m, "Nom", a.name)
        if a.adherent:
            _sub(m, "Adherent", a.adherent)
        _sub(m, "Debut", a.start.isoformat())
        if a.end:
            _sub(m, "Fin", a.end.isoformat())


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)


def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME,
                                         "TEST GIE SESAM-Vitale ApCV signature (double)")])
    now = _now()
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .sign(key, hashes.SHA256()))


def serve(double: ApcvDouble, cert_chain: Path, key: Path) -> HttpsDouble:
    return HttpsDouble(double.handle, cert_chain, key, client_roots=None).start()
