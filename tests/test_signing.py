"""Signatures made with token keys, each checked by an independent verifier: xmlsec1 for
XML-DSig and VIHF, ``openssl cms`` for CMS, ``openssl dgst`` for raw signatures."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from drivers.sim import testpki
from provisioning.errors import ProvisioningError, SlotEmptyError
from provisioning.signing import cms, raw, vihf, xmldsig
from provisioning.slots import Slot
from provisioning.store import Store
from tests.provision_fixtures import (
    certify,
    openssl_verifies,
    provision,
    run,
    write_chain_files,
    xmlsec_verify,
)

SAML_ID = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"
NS = {"saml2": vihf.SAML_NS, "ds": xmldsig.DS_NS, "hl7": vihf.HL7_NS}


@pytest.fixture(scope="module")
def pki() -> testpki.TestPki:
    return testpki.TestPki.create()


@pytest.fixture(scope="module")
def signer(
    tmp_path_factory: pytest.TempPathFactory, pki: testpki.TestPki
) -> Iterator[tuple[Store, x509.Certificate]]:
    store = provision(tmp_path_factory.mktemp("sig") / "state", pki)
    cert = certify(store, pki, Slot.ORG_SIGN, cn="PHARMACIE DU MARCHE")
    yield store, cert
    store.close()


@pytest.fixture(scope="module")
def chain_files(
    tmp_path_factory: pytest.TempPathFactory, pki: testpki.TestPki
) -> tuple[Path, Path]:
    return write_chain_files(tmp_path_factory.mktemp("chain"), pki)


def context(**overrides: object) -> vihf.VihfContext:
    values: dict[str, object] = dict(
        operator_id="810100000001",
        operator_name="MARTIN CLAIRE",
        profession=vihf.Code("21", vihf.PROFESSION_SYSTEM, "Pharmacien"),
        cnop_section=vihf.Code("A", vihf.CNOP_SECTION_SYSTEM, "Pharmacien titulaire d'officine"),
        structure_id="3750000001",
        secteur_activite="SA33^1.2.250.1.71.4.2.4",
        patient_ins="279035121518989",
        lps_name="Comptoir",
        lps_version="0.1.0",
        lps_homologation_id="TEST-HOMOLOGATION-0001",
    )
    values.update(overrides)
    return vihf.VihfContext(**values)  # type: ignore[arg-type]


def _attr(doc: etree._Element, name: str) -> list[etree._Element]:
    return list(doc.xpath(f"//saml2:Attribute[@Name='{name}']/saml2:AttributeValue", namespaces=NS))


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "rsa-sha1"])
def test_vihf_verifies_with_xmlsec1(
    signer: tuple[Store, x509.Certificate],
    chain_files: tuple[Path, Path],
    tmp_path: Path,
    algorithm: str,
) -> None:
    store, cert = signer
    xml = vihf.build_and_sign(store, Slot.ORG_SIGN, context(), algorithm=algorithm)
    f = tmp_path / "vihf.xml"
    f.write_bytes(xml)
    done = xmlsec_verify(f, *chain_files, id_attr=SAML_ID)
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout + done.stderr
    doc = etree.fromstring(xml)
    method = doc.find(".//ds:SignatureMethod", NS).get("Algorithm")
    assert method.endswith("#" + algorithm)
    assert (
        doc.find(".//ds:CanonicalizationMethod", NS).get("Algorithm")
        == "http://www.w3.org/2001/10/xml-exc-c14n#"
    )
    # In-process verification (used by the benchmark) agrees.
    xmldsig.verify(xml, cert.public_bytes(serialization.Encoding.PEM), algorithm, id_attribute="ID")


def test_vihf_content_follows_the_cisis_layout(signer: tuple[Store, x509.Certificate]) -> None:
    store, cert = signer
    now = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    doc = etree.fromstring(vihf.build_and_sign(store, Slot.ORG_SIGN, context(), now=now))
    children = [etree.QName(c).localname for c in doc]
    assert children[:3] == ["Issuer", "Signature", "Subject"]
    issuer = doc.find("saml2:Issuer", NS)
    assert issuer.get("Format") == vihf.X509_SUBJECT_FORMAT
    assert issuer.text == cert.subject.rfc4514_string()
    assert doc.findtext("saml2:Subject/saml2:NameID", namespaces=NS) == "810100000001"
    reference = doc.find(".//ds:Reference", NS).get("URI")
    assert reference == "#" + doc.get("ID")
    assert doc.get("IssueInstant") == "2026-11-25T08:30:00Z"
    cond = doc.find("saml2:Conditions", NS)
    assert (cond.get("NotBefore"), cond.get("NotOnOrAfter")) == (
        "2026-11-25T08:30:00Z",
        "2026-11-25T09:30:00Z",
    )
    roles = [v[0] for v in _attr(doc, vihf.ROLE_ATTRIBUTE)]
    assert [(r.get("code"), r.get("codeSystem")) for r in roles] == [
        ("21", vihf.PROFESSION_SYSTEM),
        ("A", vihf.CNOP_SECTION_SYSTEM),
    ]
    simple = {
        name: [v.text for v in _attr(doc, name)]
        for name in (
            "VIHF_Version",
            "Identifiant_Structure",
            "Secteur_Activite",
            "Authentification_Mode",
            vihf.RESOURCE_ID_ATTRIBUTE,
            "Ressource_URN",
            "LPS_Nom",
            "LPS_Version",
            "LPS_ID_HOMOLOGATION_DMP",
        )
    }
    assert simple == {
        "VIHF_Version": ["4.0"],
        "Identifiant_Structure": ["3750000001"],
        "Secteur_Activite": ["SA33^1.2.250.1.71.4.2.4"],
        "Authentification_Mode": ["INDIRECTE"],
        vihf.RESOURCE_ID_ATTRIBUTE: ["279035121518989^^^&1.2.250.1.213.1.4.8&ISO^NH"],
        "Ressource_URN": ["urn:dmp"],
        "LPS_Nom": ["Comptoir"],
        "LPS_Version": ["0.1.0"],
        "LPS_ID_HOMOLOGATION_DMP": ["TEST-HOMOLOGATION-0001"],
    }
    purpose = _attr(doc, vihf.PURPOSE_ATTRIBUTE)[0][0]
    assert (purpose.get("code"), purpose.get("codeSystem")) == ("normal", vihf.PURPOSE_SYSTEM)
    assert doc.findtext(".//saml2:AuthnContextClassRef", namespaces=NS)
    key_cert = doc.findtext(".//ds:X509Certificate", namespaces=NS)
    assert x509.load_der_x509_certificate(base64.b64decode(key_cert)) == cert


def test_tampered_vihf_fails_xmlsec1(
    signer: tuple[Store, x509.Certificate], chain_files: tuple[Path, Path], tmp_path: Path
) -> None:
    store, _ = signer
    xml = vihf.build_and_sign(store, Slot.ORG_SIGN, context())
    forged = xml.replace(b"279035121518989", b"180017512345678")
    assert forged != xml
    f = tmp_path / "forged.xml"
    f.write_bytes(forged)
    done = xmlsec_verify(f, *chain_files, id_attr=SAML_ID)
    assert done.returncode != 0


def test_vihf_context_validation() -> None:
    with pytest.raises(ProvisioningError, match="CNOP"):
        context(cnop_section=None)
    with pytest.raises(ProvisioningError, match="INS"):
        context(patient_ins="12345")
    with pytest.raises(ProvisioningError, match="empty"):
        context(lps_name=" ")
    with pytest.raises(ProvisioningError, match="validity"):
        context(validity=timedelta(days=2))
    doctor = context(
        profession=vihf.Code("10", vihf.PROFESSION_SYSTEM, "Médecin"), cnop_section=None
    )
    assert doctor.cnop_section is None


def test_enveloped_signature_of_any_document(
    signer: tuple[Store, x509.Certificate], chain_files: tuple[Path, Path], tmp_path: Path
) -> None:
    store, _ = signer
    doc = b"<dispensation xmlns='urn:example'><line code='3400930000000'>2</line></dispensation>"
    signed = xmldsig.sign_enveloped(store, Slot.ORG_SIGN, doc)
    f = tmp_path / "doc.xml"
    f.write_bytes(signed)
    done = xmlsec_verify(f, *chain_files)
    assert done.returncode == 0, done.stderr
    f.write_bytes(signed.replace(b">2<", b">3<"))
    assert xmlsec_verify(f, *chain_files).returncode != 0
    with pytest.raises(ProvisioningError, match="well-formed"):
        xmldsig.sign_enveloped(store, Slot.ORG_SIGN, b"<a>")
    with pytest.raises(ProvisioningError, match="algorithm"):
        xmldsig.sign_enveloped(store, Slot.ORG_SIGN, doc, algorithm="rsa-md5")
    with pytest.raises(SlotEmptyError):
        xmldsig.sign_enveloped(store, Slot.ORG_CONF, doc)


def test_cms_detached_verifies_with_openssl(
    signer: tuple[Store, x509.Certificate], chain_files: tuple[Path, Path], tmp_path: Path
) -> None:
    store, _ = signer
    data = b"%PDF-1.7 facture FSE 0001\n" * 100
    sig = tmp_path / "sig.der"
    content = tmp_path / "content"
    sig.write_bytes(cms.sign_detached(store, Slot.ORG_SIGN, data))
    content.write_bytes(data)
    root, _ = chain_files
    cmd: list[str | Path] = [
        "openssl",
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        sig,
        "-content",
        content,
        "-CAfile",
        root,
        "-purpose",
        "any",
        "-out",
        "/dev/null",
    ]
    done = run(cmd)
    assert done.returncode == 0, done.stderr
    assert "Verification successful" in done.stderr
    content.write_bytes(data + b"x")
    assert run(cmd).returncode != 0
    # The signed attributes carry the content's digest; the content itself is not embedded.
    info = asn1_cms.ContentInfo.load(sig.read_bytes())
    signed_data = info["content"]
    assert signed_data["encap_content_info"]["content"].native is None
    attrs = {
        a["type"].native: a["values"][0].native
        for a in signed_data["signer_infos"][0]["signed_attrs"]
    }
    assert attrs["message_digest"] == hashlib.sha256(data).digest()
    assert attrs["content_type"] == "data"


def test_raw_signature_verifies_with_openssl(
    signer: tuple[Store, x509.Certificate], tmp_path: Path
) -> None:
    store, cert = signer
    data = b"lot FSE 2026-11-25"
    for alg in ("sha256", "sha1"):
        sig = raw.sign_digest(store, Slot.ORG_SIGN, hashlib.new(alg, data).digest(), alg)
        assert sig == raw.sign(store, Slot.ORG_SIGN, data, alg)
        assert raw.verify(cert, sig, data, alg)
        assert not raw.verify(cert, sig, data + b"!", alg)
        pub = cert.public_key()
        assert isinstance(pub, rsa.RSAPublicKey)
        assert openssl_verifies(pub, data, sig, tmp_path, alg)


_TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Cn")), min_size=1, max_size=40
).filter(lambda s: s.strip() != "")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=_TEXT, lps=_TEXT, structure=_TEXT)
def test_vihf_any_text_round_trips_and_verifies(
    signer: tuple[Store, x509.Certificate],
    chain_files: tuple[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    lps: str,
    structure: str,
) -> None:
    """Names with quotes, ampersands, accents or CJK are escaped, signed and read back intact;
    xmlsec1, not only our own verifier, accepts every one."""
    store, cert = signer
    xml = vihf.build_and_sign(
        store, Slot.ORG_SIGN, context(operator_name=name, lps_name=lps, structure_id=structure)
    )
    f = tmp_path_factory.mktemp("vihf") / "vihf.xml"
    f.write_bytes(xml)
    done = xmlsec_verify(f, *chain_files, id_attr=SAML_ID)
    assert done.returncode == 0, done.stderr
    signed = xmldsig.verify(xml, cert.public_bytes(serialization.Encoding.PEM), id_attribute="ID")
    got = {
        n: [v.text for v in _attr(signed, n)]
        for n in (vihf.SUBJECT_ID_ATTRIBUTE, "LPS_Nom", "Identifiant_Structure")
    }
    assert got == {
        vihf.SUBJECT_ID_ATTRIBUTE: [name],
        "LPS_Nom": [lps],
        "Identifiant_Structure": [structure],
    }
