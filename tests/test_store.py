"""The key store over a real SoftHSM2 token: keys stay inside, certificates fit their keys,
chains are checked, renewal and zeroize behave as a technician relies on."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pkcs11 import Attribute, KeyType, MechanismFlag, ObjectClass

from drivers.sim import testpki
from provisioning.certs import ChainState
from provisioning.errors import (
    CertificateError,
    ChainError,
    KeyMismatchError,
    SlotEmptyError,
    StoreError,
)
from provisioning.slots import Slot
from provisioning.store import Store
from tests.provision_fixtures import (
    bundle,
    certify,
    openssl_verifies,
    org_certificate,
    provision,
)


@pytest.fixture(scope="module")
def pki() -> testpki.TestPki:
    return testpki.TestPki.create()


@pytest.fixture()
def store(tmp_path: Path, pki: testpki.TestPki) -> Iterator[Store]:
    s = provision(tmp_path / "state", pki)
    yield s
    s.close()


def _verify(public_key: Any, signature: bytes, data: bytes, alg: Any = None) -> None:
    public_key.verify(signature, data, padding.PKCS1v15(), alg or hashes.SHA256())


def _key_id(store: Store, slot: Slot, column: str = "active_key_id") -> bytes:
    row = store.db.rows("SELECT * FROM slots WHERE slot = ?", (slot.value,))[0]
    return bytes.fromhex(row[column])


def test_keygen_key_is_sensitive_and_signatures_verify_with_openssl(
    store: Store, tmp_path: Path
) -> None:
    pub = store.keygen(Slot.ORG_SIGN)
    assert isinstance(pub, rsa.RSAPublicKey) and pub.key_size == 2048
    priv = store.token.private_key(_key_id(store, Slot.ORG_SIGN))
    assert priv[Attribute.SENSITIVE] is True
    assert priv[Attribute.EXTRACTABLE] is False
    assert priv[Attribute.TOKEN] is True
    assert priv[Attribute.NEVER_EXTRACTABLE] is True

    data = b"ordonnance 2026-11-25 #42"
    sig = store.sign(Slot.ORG_SIGN, data)
    assert openssl_verifies(pub, data, sig, tmp_path)
    assert not openssl_verifies(pub, data + b"!", sig, tmp_path)

    # A digest computed elsewhere gives the same PKCS#1 v1.5 signature (deterministic).
    assert store.sign_digest(Slot.ORG_SIGN, hashlib.sha256(data).digest(), "sha256") == sig
    # SHA-1 for the ANS samples that still use RSA-SHA1: also checked by openssl.
    sig1 = store.sign_digest(Slot.ORG_SIGN, hashlib.sha1(data).digest(), "sha1")
    assert openssl_verifies(pub, data, sig1, tmp_path, "sha1")


def test_sign_digest_rejects_wrong_length(store: Store) -> None:
    store.keygen(Slot.ORG_SIGN)
    with pytest.raises(StoreError, match="32 bytes"):
        store.sign_digest(Slot.ORG_SIGN, b"\x00" * 20, "sha256")
    with pytest.raises(StoreError, match="unsupported"):
        store.sign(Slot.ORG_SIGN, b"x", "md5")


def test_private_key_cannot_be_read_or_wrapped(store: Store) -> None:
    store.keygen(Slot.ORG_SIGN)
    priv = store.token.private_key(_key_id(store, Slot.ORG_SIGN))
    for attr in (Attribute.PRIVATE_EXPONENT, Attribute.PRIME_1, Attribute.VALUE):
        with pytest.raises((pkcs11.AttributeSensitive, pkcs11.AttributeTypeInvalid)):
            priv[attr]
    session = store.token.session
    wrapper = session.generate_key(
        KeyType.AES, 256, store=False, capabilities=MechanismFlag.WRAP | MechanismFlag.UNWRAP
    )
    with pytest.raises(pkcs11.PKCS11Error) as caught:
        wrapper.wrap_key(priv)  # type: ignore[attr-defined]  # WrapMixin, not in the stubs
    assert isinstance(caught.value, (pkcs11.KeyUnextractable, pkcs11.KeyNotWrappable))
    # The one-way switches cannot be turned back.
    with pytest.raises(pkcs11.PKCS11Error):
        priv[Attribute.EXTRACTABLE] = True
    assert priv[Attribute.EXTRACTABLE] is False
    # The Python key object handed to builders cannot leak it either.
    with pytest.raises(StoreError):
        store.private_key(Slot.ORG_SIGN).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def test_import_matching_certificate_and_refuse_mismatch(
    store: Store, pki: testpki.TestPki
) -> None:
    pub = store.keygen(Slot.ORG_SIGN)
    other = rsa.generate_private_key(65537, 2048).public_key()
    wrong = org_certificate(pki, other, Slot.ORG_SIGN)
    with pytest.raises(KeyMismatchError, match="does not match"):
        store.import_certificate(Slot.ORG_SIGN, bundle(wrong, pki.organisations.cert))
    assert store.certificate(Slot.ORG_SIGN) is None

    good = org_certificate(pki, pub, Slot.ORG_SIGN)
    der = good.public_bytes(serialization.Encoding.DER)
    # DER carries no intermediate: the chain cannot be completed yet.
    with pytest.raises(ChainError, match="untrusted"):
        store.import_certificate(Slot.ORG_SIGN, der)
    status = store.import_certificate(Slot.ORG_SIGN, bundle(good, pki.organisations.cert))
    assert status.chain_state is ChainState.VALID
    assert store.certificate(Slot.ORG_SIGN) == good
    assert [c.subject for c in store.chain(Slot.ORG_SIGN)] == [pki.organisations.cert.subject]
    # Now that the intermediate is stored, the bare DER re-imports fine.
    store.import_certificate(Slot.ORG_SIGN, der)
    _verify(good.public_key(), store.sign(Slot.ORG_SIGN, b"x"), b"x")


def test_import_into_empty_slot_is_refused(store: Store, pki: testpki.TestPki) -> None:
    other = rsa.generate_private_key(65537, 2048).public_key()
    cert = org_certificate(pki, other, Slot.ORG_SIGN)
    with pytest.raises(SlotEmptyError):
        store.import_certificate(Slot.ORG_SIGN, bundle(cert, pki.organisations.cert))


def _pkcs12(pki: testpki.TestPki, password: bytes) -> tuple[bytes, Any]:
    key = rsa.generate_private_key(65537, 2048)
    cert = org_certificate(pki, key.public_key(), Slot.ORG_AUTH_CLI, cn="INSI-AUTO")
    data = pkcs12.serialize_key_and_certificates(
        b"auth",
        key,
        cert,
        [pki.organisations.cert],
        serialization.BestAvailableEncryption(password),
    )
    return data, cert


def test_pkcs12_wrong_password_changes_nothing(store: Store, pki: testpki.TestPki) -> None:
    data, _ = _pkcs12(pki, b"correct horse")
    before = store.token_objects()
    with pytest.raises(CertificateError, match="wrong password"):
        store.import_certificate(Slot.ORG_AUTH_CLI, data, b"battery staple")
    with pytest.raises(CertificateError, match="needs its password"):
        store.import_certificate(Slot.ORG_AUTH_CLI, data, None)
    assert store.token_objects() == before
    assert store.certificate(Slot.ORG_AUTH_CLI) is None


def test_pkcs12_right_password_key_goes_into_token(store: Store, pki: testpki.TestPki) -> None:
    data, cert = _pkcs12(pki, b"correct horse")
    status = store.import_certificate(Slot.ORG_AUTH_CLI, data, b"correct horse")
    assert status.chain_state is ChainState.VALID and status.has_key
    priv = store.token.private_key(_key_id(store, Slot.ORG_AUTH_CLI))
    assert priv[Attribute.SENSITIVE] is True and priv[Attribute.EXTRACTABLE] is False
    with pytest.raises((pkcs11.AttributeSensitive, pkcs11.AttributeTypeInvalid)):
        priv[Attribute.PRIVATE_EXPONENT]
    _verify(cert.public_key(), store.sign(Slot.ORG_AUTH_CLI, b"insi"), b"insi")


def test_chain_broken_untrusted_and_expired(tmp_path: Path, pki: testpki.TestPki) -> None:
    now = [datetime.now(UTC)]
    store = provision(tmp_path / "state", pki, clock=lambda: now[0])
    try:
        pub = store.keygen(Slot.ORG_SIGN)
        # Same names as the real intermediate, different key: the signature cannot verify.
        impostor = testpki.make_intermediate(testpki.make_root(), testpki.ORGANISATIONS_CN)
        forged = testpki.issue(
            impostor, pub, testpki.igc_sante_name("X"), key_usage={"digital_signature"}
        )
        with pytest.raises(ChainError, match="broken"):
            store.import_certificate(Slot.ORG_SIGN, bundle(forged, impostor.cert))
        # A PKI whose root is not in the trust store.
        other_root = testpki.make_root("TEST AUTRE RACINE")
        other_ca = testpki.make_intermediate(other_root, "TEST AUTRE AC")
        stranger = testpki.issue(
            other_ca, pub, testpki.igc_sante_name("X"), key_usage={"digital_signature"}
        )
        with pytest.raises(ChainError, match="untrusted"):
            store.import_certificate(Slot.ORG_SIGN, bundle(stranger, other_ca.cert))
        # Expired at import time.
        old = org_certificate(
            pki, pub, Slot.ORG_SIGN, days=30, not_before=now[0] - timedelta(days=40)
        )
        with pytest.raises(ChainError, match="expired"):
            store.import_certificate(Slot.ORG_SIGN, bundle(old, pki.organisations.cert))
        assert store.certificate(Slot.ORG_SIGN) is None

        good = org_certificate(pki, pub, Slot.ORG_SIGN, days=365)
        store.import_certificate(Slot.ORG_SIGN, bundle(good, pki.organisations.cert))
        assert store.slot_status(Slot.ORG_SIGN).chain_state is ChainState.VALID
        now[0] = good.not_valid_after_utc + timedelta(days=1)
        st = store.slot_status(Slot.ORG_SIGN)
        assert st.chain_state is ChainState.EXPIRED
        assert st.days_left is not None and st.days_left < 0
        assert any("expired" in w for w in st.warnings)
    finally:
        store.close()


def test_expiry_warnings_at_90_and_30_days(tmp_path: Path, pki: testpki.TestPki) -> None:
    store = provision(tmp_path / "state", pki)
    try:
        cert = certify(store, pki, Slot.ORG_SIGN, days=365)
        end = cert.not_valid_after_utc
        assert store.slot_status(Slot.ORG_SIGN, now=end - timedelta(days=200)).warnings == ()
        w90 = store.slot_status(Slot.ORG_SIGN, now=end - timedelta(days=60)).warnings
        assert len(w90) == 1 and "under 90" in w90[0]
        w30 = store.slot_status(Slot.ORG_SIGN, now=end - timedelta(days=10)).warnings
        assert len(w30) == 1 and "under 30" in w30[0] and "renew now" in w30[0]
    finally:
        store.close()


def test_renew_keeps_old_key_active_until_new_certificate(
    store: Store, pki: testpki.TestPki
) -> None:
    old_cert = certify(store, pki, Slot.ORG_SIGN)
    old_id = _key_id(store, Slot.ORG_SIGN)
    new_pub = store.renew(Slot.ORG_SIGN)
    assert store.has_pending(Slot.ORG_SIGN)
    assert store.slot_status(Slot.ORG_SIGN).renewal_pending
    # Until the new certificate arrives, signatures still come from the old key.
    _verify(old_cert.public_key(), store.sign(Slot.ORG_SIGN, b"a"), b"a")
    assert store.certificate(Slot.ORG_SIGN) == old_cert

    new_cert = org_certificate(pki, new_pub, Slot.ORG_SIGN)
    store.import_certificate(Slot.ORG_SIGN, bundle(new_cert, pki.organisations.cert))
    assert not store.has_pending(Slot.ORG_SIGN)
    assert store.certificate(Slot.ORG_SIGN) == new_cert
    _verify(new_cert.public_key(), store.sign(Slot.ORG_SIGN, b"b"), b"b")
    with pytest.raises(InvalidSignature):
        _verify(old_cert.public_key(), store.sign(Slot.ORG_SIGN, b"b"), b"b")
    assert old_id.hex() not in {o.key_id for o in store.token_objects()}


def test_zeroize_leaves_no_object_on_the_token(store: Store, pki: testpki.TestPki) -> None:
    certify(store, pki, Slot.ORG_SIGN)
    store.keygen(Slot.ORG_CONF)
    store.renew(Slot.ORG_SIGN)
    assert len(store.token_objects()) >= 8  # box-lan, org-sign x2, org-conf: pub + priv each
    destroyed = store.zeroize()
    assert destroyed >= 8
    assert store.token_objects() == []
    # Listed independently of our handle: a fresh session sees nothing either.
    session = store.token.session
    assert list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})) == []
    assert all(not s.has_key for s in store.status())
    with pytest.raises(SlotEmptyError):
        store.sign(Slot.ORG_SIGN, b"x")


def test_concurrent_signing_from_many_threads(store: Store, pki: testpki.TestPki) -> None:
    cert = certify(store, pki, Slot.ORG_SIGN)
    results: dict[bytes, bytes] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            for i in range(25):
                data = f"thread {n} message {i}".encode()
                sig = (
                    store.sign(Slot.ORG_SIGN, data)
                    if i % 2
                    else store.sign_digest(Slot.ORG_SIGN, hashlib.sha256(data).digest())
                )
                with lock:
                    results[data] = sig
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(results) == 200
    for data, sig in results.items():
        _verify(cert.public_key(), sig, data)


def test_audit_hook_sees_every_operation_but_not_the_data(
    tmp_path: Path, pki: testpki.TestPki
) -> None:
    provision(tmp_path / "s", pki).close()
    seen: list[tuple[str, dict[str, Any]]] = []
    store = Store.open(tmp_path / "s", audit=lambda e, d: seen.append((e, d)))
    try:
        store.keygen(Slot.ORG_SIGN)
        store.sign(Slot.ORG_SIGN, b"secret patient data")
        store.sign_digest(Slot.ORG_SIGN, hashlib.sha256(b"y").digest())
    finally:
        store.close()
    assert [e for e, _ in seen] == ["key.sign", "key.sign"]
    assert seen[0][1]["slot"] == "org-sign"
    assert seen[0][1]["digest"] == hashlib.sha256(b"secret patient data").hexdigest()
    assert "secret" not in repr(seen)


def test_open_errors_are_store_errors(tmp_path: Path, pki: testpki.TestPki) -> None:
    with pytest.raises(StoreError, match="not provisioned"):
        Store.open(tmp_path / "nowhere")
    state = tmp_path / "state"
    provision(state, pki).close()
    pin_file = state / "secrets" / "token-user-pin"
    good_pin = pin_file.read_text()
    pin_file.write_text("0" * 32)
    with pytest.raises(StoreError, match="refused the stored PIN"):
        Store.open(state)
    pin_file.write_text(good_pin)
    Store.open(state).close()
    pin_file.unlink()
    with pytest.raises(StoreError, match="PIN file"):
        Store.open(state)
    pin_file.write_text(good_pin)
    for f in (state / "token" / "tokens").iterdir():
        for g in f.iterdir():
            g.unlink()
        f.rmdir()
    with pytest.raises(StoreError, match=r"token files .* gone: run `comptoir provision recover`"):
        Store.open(state)


def test_one_token_per_process_at_a_time(tmp_path: Path, pki: testpki.TestPki) -> None:
    a = provision(tmp_path / "a", pki)
    try:
        again = Store.open(tmp_path / "a")  # same directory: shares the login
        again.keygen(Slot.ORG_SIGN)
        again.close()
        assert a.sign(Slot.ORG_SIGN, b"x")
        with pytest.raises(StoreError, match="already holds the token"):
            provision(tmp_path / "b", pki)
    finally:
        a.close()


def test_token_pin_from_systemd_credentials(
    tmp_path: Path, pki: testpki.TestPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    provision(state, pki).close()
    creds = tmp_path / "creds"
    creds.mkdir()
    pin_file = state / "secrets" / "token-user-pin"
    (creds / "comptoir-token-pin").write_text(pin_file.read_text())
    pin_file.unlink()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    store = Store.open(state)
    store.keygen(Slot.ORG_SIGN)
    store.close()
    (creds / "comptoir-token-pin").write_text("f" * 32)
    with pytest.raises(StoreError, match="refused"):
        Store.open(state)
