"""Issue a simulated CPS: two fresh RSA-2048 keys and their certificates from the test PKI's
PERSONNES authority, wrapped in a :class:`CpsCardConfig`. Used by the sample-card generator
and by tests that need a card without a card file."""

from __future__ import annotations

from cryptography.x509.oid import ExtendedKeyUsageOID

from drivers.cards.cps_model import CpsHolder
from drivers.sim import testpki
from drivers.sim.cps_app import CpsCardConfig


def issue_cps(
    pki: testpki.TestPki,
    holder: CpsHolder,
    *,
    pin: str = "1234",
    puk: str = "12345678",
    clock: testpki.Clock = testpki.utc_now,
    days: int = 3 * 365,
) -> CpsCardConfig:
    """A CPS for ``holder``: AUTH certificate (digitalSignature + keyEncipherment, TLS client)
    and SIGN certificate (nonRepudiation), both from "TEST AC IGC-SANTE ELEMENTAIRE PERSONNES"."""
    auth_key, sign_key = testpki.new_rsa_key(), testpki.new_rsa_key()
    common = {"nom": holder.nom, "prenom": holder.prenom, "rpps": holder.rpps,
              "profession": holder.profession}  # fmt: skip
    auth_cert = testpki.issue(
        pki.personnes,
        auth_key.public_key(),
        testpki.cps_subject(**common, signature=False),
        key_usage={"digital_signature", "key_encipherment"},
        extended_key_usage=[ExtendedKeyUsageOID.CLIENT_AUTH],
        days=days,
        clock=clock,
    )
    sign_cert = testpki.issue(
        pki.personnes,
        sign_key.public_key(),
        testpki.cps_subject(**common, signature=True),
        key_usage={"content_commitment"},
        days=days,
        clock=clock,
    )
    start = auth_cert.not_valid_before_utc.strftime("%Y%m%d")
    end = auth_cert.not_valid_after_utc.strftime("%Y%m%d")
    return CpsCardConfig(
        holder=holder,
        pin=pin,
        puk=puk,
        auth_key=auth_key,
        auth_cert=auth_cert,
        sign_key=sign_key,
        sign_cert=sign_cert,
        valid_from=start,
        valid_until=end,
    )
