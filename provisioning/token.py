"""The PKCS#11 token holding the box's private keys: creation, one shared login, key operations.

PKCS#11 login state belongs to the process, not to a session, and token libraries are not safe
under concurrent calls, so a process holds at most one :class:`TokenHandle` per token, shared by
every user (store, local CA) and serialised by one lock.

SoftHSM2 reads ``SOFTHSM2_CONF`` once, in ``C_Initialize``; a process that switches state
directories (tests, the technician CLI run twice in one interpreter) must finalise and
re-initialise the library between them, which is only safe when no handle is open.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
from cryptography.hazmat.primitives.asymmetric import rsa
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass

from provisioning.errors import StoreError
from provisioning.paths import StatePaths, write_private_file, write_public_file

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
MODULE_ENV = "COMPTOIR_PKCS11_MODULE"
TOKEN_LABEL_ENV = "COMPTOIR_TOKEN_LABEL"  # noqa: S105 - a label, not a secret
DEFAULT_TOKEN_LABEL = "comptoir"  # noqa: S105
RSA_BITS = 2048

# Attributes every private key gets, generated or imported: it lives on the token, needs the
# login, and its value can never leave (PKCS#11 v2.40 §4.9: SENSITIVE and non-EXTRACTABLE are
# one-way switches).
PRIVATE_KEY_POLICY: dict[Attribute, Any] = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
}


def module_path() -> str:
    return os.environ.get(MODULE_ENV, SOFTHSM_MODULE)


def token_label() -> str:
    return os.environ.get(TOKEN_LABEL_ENV, DEFAULT_TOKEN_LABEL)


def uses_softhsm() -> bool:
    return "softhsm" in Path(module_path()).name


def credential_pin_available() -> bool:
    """Whether systemd hands the daemon the PIN (``LoadCredentialEncrypted=``)."""
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    return bool(cred_dir) and (Path(str(cred_dir)) / CREDENTIAL_NAME).is_file()


RECOVER_HINT = (
    "run `comptoir provision recover` (the keys are lost: it makes a new token and local CA;"
    " certificates are ordered again, counters enrol again)"
)


def _uses_tpm2() -> bool:
    return "tpm2" in Path(module_path()).resolve().name


def write_softhsm_conf(paths: StatePaths) -> None:
    write_public_file(
        paths.softhsm_conf,
        f"directories.tokendir = {paths.softhsm_tokens}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n"
        "slots.removable = false\n".encode(),
    )


def token_exists(paths: StatePaths) -> bool:
    """SoftHSM2: a token directory under the state dir. Other modules manage their own tokens
    (``tpm2_ptool addtoken``…), so they are taken as present."""
    if not uses_softhsm():
        return True
    tokens = paths.softhsm_tokens
    return paths.softhsm_conf.exists() and tokens.is_dir() and any(tokens.iterdir())


def create_token(paths: StatePaths) -> None:
    """Creates the token and its user PIN (kept 0600 in ``secrets/``); SO PIN is discarded.

    Without the SO PIN nobody can reset the user PIN: losing ``secrets/`` means re-running
    ``init`` and ordering new certificates, which is what a stolen-box policy wants anyway.
    """
    if not uses_softhsm():
        raise StoreError(
            f"token creation is only automated for SoftHSM2; initialise {module_path()} with its "
            f"own tool, then write the user PIN to {paths.token_pin_file}"
        )
    if not Path(SOFTHSM_MODULE).exists() or shutil.which("softhsm2-util") is None:
        raise StoreError("SoftHSM2 is not installed (Debian package softhsm2)")
    paths.make_dirs()
    write_softhsm_conf(paths)
    if any(paths.softhsm_tokens.iterdir()):
        raise StoreError(f"a token already exists in {paths.softhsm_tokens}")
    user_pin = secrets.token_hex(16)
    so_pin = secrets.token_hex(16)
    env = dict(os.environ, SOFTHSM2_CONF=str(paths.softhsm_conf))
    # The PIN file first: a token whose PIN was never saved (disk full right after
    # softhsm2-util) would be present, so init would not recreate it, and unusable forever.
    write_private_file(paths.token_pin_file, user_pin.encode())
    try:
        # softhsm2-util only reads PINs from argv or a terminal; the command runs for a few ms
        # on the box's own console, and these PINs are random, not a person's.
        done = subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                token_label(),
                "--pin",
                user_pin,
                "--so-pin",
                so_pin,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise StoreError(f"softhsm2-util could not create the token: {done.stderr.strip()}")
    except BaseException:
        # The token directory was empty when we started: leave it empty, so init run again
        # (once the disk has room) starts clean.
        for child in paths.softhsm_tokens.iterdir():
            shutil.rmtree(child, ignore_errors=True)
        paths.token_pin_file.unlink(missing_ok=True)
        raise


CREDENTIAL_NAME = "comptoir-token-pin"


def read_user_pin(paths: StatePaths) -> str:
    """The token PIN: from systemd's credentials directory when the unit provides it (a box
    seals it to the TPM with ``systemd-creds encrypt --with-key=tpm2`` and
    ``LoadCredentialEncrypted=``), else from ``secrets/`` (development, CI)."""
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    if cred_dir and (Path(cred_dir) / CREDENTIAL_NAME).is_file():
        return (Path(cred_dir) / CREDENTIAL_NAME).read_text().strip()
    try:
        return paths.token_pin_file.read_text().strip()
    except FileNotFoundError:
        if paths.db.exists():
            raise StoreError(
                f"token PIN file {paths.token_pin_file} is missing, so the token cannot be"
                f" opened: {RECOVER_HINT}"
            ) from None
        raise StoreError(
            f"token PIN file {paths.token_pin_file} is missing: run `comptoir provision init`"
        ) from None
    except PermissionError:
        raise StoreError(f"cannot read {paths.token_pin_file}: run as the comptoir user") from None


@dataclass(frozen=True)
class TokenObject:
    """One object on the token as PKCS#11 lists it (for zeroize checks and ``status``)."""

    object_class: str
    label: str
    key_id: str


class TokenHandle:
    """One logged-in session on the token; every call holds ``lock``."""

    def __init__(self, paths: StatePaths, session: pkcs11.Session) -> None:
        self.paths = paths
        self.lock = threading.RLock()
        self._session = session
        self._keys: dict[bytes, Any] = {}

    @property
    def session(self) -> pkcs11.Session:
        """The raw session, for benchmarks and tests; production code uses the methods."""
        return self._session

    def generate_rsa(self, key_id: bytes, label: str, decrypt: bool = False) -> rsa.RSAPublicKey:
        caps = MechanismFlag.SIGN | MechanismFlag.VERIFY
        if decrypt or _uses_tpm2():
            # tpm2-pkcs11 (1.9) makes every RSA key a TPM object that may sign and decrypt and
            # refuses a template saying otherwise ("attr mismatch"); the daemon exposes no
            # decryption, so the key is still only used to sign.
            caps |= MechanismFlag.DECRYPT | MechanismFlag.ENCRYPT
        with self.lock:
            try:
                pub, priv = self._session.generate_keypair(
                    KeyType.RSA,
                    RSA_BITS,
                    id=key_id,
                    label=label,
                    store=True,
                    capabilities=caps,
                    private_template=dict(PRIVATE_KEY_POLICY),
                )
            except pkcs11.PKCS11Error as exc:
                raise StoreError(
                    f"the token could not generate a key: {type(exc).__name__}"
                ) from exc
            self._keys[key_id] = priv
            return _public_from_object(pub)

    def import_rsa(self, key_id: bytes, label: str, key: rsa.RSAPrivateKey) -> None:
        """Writes a private key (from a PKCS#12 file) as a non-extractable token object."""
        n = key.private_numbers()
        attrs: dict[Attribute, Any] = {
            Attribute.CLASS: ObjectClass.PRIVATE_KEY,
            Attribute.KEY_TYPE: KeyType.RSA,
            Attribute.ID: key_id,
            Attribute.LABEL: label,
            Attribute.SIGN: True,
            Attribute.DECRYPT: True,
            Attribute.MODULUS: _int_bytes(n.public_numbers.n),
            Attribute.PUBLIC_EXPONENT: _int_bytes(n.public_numbers.e),
            Attribute.PRIVATE_EXPONENT: _int_bytes(n.d),
            Attribute.PRIME_1: _int_bytes(n.p),
            Attribute.PRIME_2: _int_bytes(n.q),
            Attribute.EXPONENT_1: _int_bytes(n.dmp1),
            Attribute.EXPONENT_2: _int_bytes(n.dmq1),
            Attribute.COEFFICIENT: _int_bytes(n.iqmp),
            **PRIVATE_KEY_POLICY,
        }
        pub_attrs: dict[Attribute, Any] = {
            Attribute.CLASS: ObjectClass.PUBLIC_KEY,
            Attribute.KEY_TYPE: KeyType.RSA,
            Attribute.ID: key_id,
            Attribute.LABEL: label,
            Attribute.TOKEN: True,
            Attribute.VERIFY: True,
            Attribute.ENCRYPT: True,
            Attribute.MODULUS: _int_bytes(n.public_numbers.n),
            Attribute.PUBLIC_EXPONENT: _int_bytes(n.public_numbers.e),
        }
        with self.lock:
            try:
                self._session.create_object(attrs)
                self._session.create_object(pub_attrs)
            except pkcs11.PKCS11Error as exc:
                raise StoreError(f"the token refused the key: {type(exc).__name__}") from exc

    def public_key(self, key_id: bytes) -> rsa.RSAPublicKey:
        with self.lock:
            try:
                pub = self._session.get_key(object_class=ObjectClass.PUBLIC_KEY, id=key_id)
            except pkcs11.NoSuchKey:
                raise StoreError(f"no public key {key_id.hex()} on the token") from None
            return _public_from_object(pub)

    def private_key(self, key_id: bytes) -> Any:
        with self.lock:
            key = self._keys.get(key_id)
            if key is None:
                try:
                    key = self._session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=key_id)
                except pkcs11.NoSuchKey:
                    raise StoreError(f"no private key {key_id.hex()} on the token") from None
                self._keys[key_id] = key
            return key

    def sign(self, key_id: bytes, data: bytes, mechanism: Mechanism) -> bytes:
        with self.lock:
            key = self.private_key(key_id)
            try:
                return bytes(key.sign(data, mechanism=mechanism))
            except pkcs11.PKCS11Error as exc:
                raise StoreError(f"the token refused to sign: {type(exc).__name__}") from exc

    def destroy_key(self, key_id: bytes) -> int:
        """Destroys every object (private, public, certificate) carrying ``key_id``."""
        with self.lock:
            self._keys.pop(key_id, None)
            objs = list(self._session.get_objects({Attribute.ID: key_id}))
            for obj in objs:
                obj.destroy()
            return len(objs)

    def objects(self) -> list[TokenObject]:
        with self.lock:
            found = []
            for obj in self._session.get_objects():
                found.append(
                    TokenObject(
                        object_class=ObjectClass(obj[Attribute.CLASS]).name,
                        label=str(obj[Attribute.LABEL]),
                        key_id=bytes(obj[Attribute.ID]).hex(),
                    )
                )
            return found

    def destroy_all(self) -> int:
        with self.lock:
            self._keys.clear()
            objs = list(self._session.get_objects())
            for obj in objs:
                obj.destroy()
            return len(objs)


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")


def _public_from_object(pub: Any) -> rsa.RSAPublicKey:
    n = int.from_bytes(pub[Attribute.MODULUS], "big")
    e = int.from_bytes(pub[Attribute.PUBLIC_EXPONENT], "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


class _Runtime:
    """The process's one PKCS#11 library, and the handles open on it (reference counted)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.handles: dict[Path, tuple[TokenHandle, int]] = {}

    def acquire(self, paths: StatePaths) -> TokenHandle:
        root = paths.root.resolve()
        with self.lock:
            if root in self.handles:
                handle, count = self.handles[root]
                self.handles[root] = (handle, count + 1)
                return handle
            if self.handles:
                other = next(iter(self.handles))
                raise StoreError(f"this process already holds the token of {other}; close it first")
            handle = self._open(paths)
            self.handles[root] = (handle, 1)
            return handle

    def release(self, handle: TokenHandle) -> None:
        root = handle.paths.root.resolve()
        with self.lock:
            held = self.handles.get(root)
            if held is None or held[0] is not handle:
                return
            if held[1] > 1:
                self.handles[root] = (handle, held[1] - 1)
                return
            del self.handles[root]
            # If the token vanished under us there is nothing left to log out of.
            with handle.lock, contextlib.suppress(pkcs11.PKCS11Error):
                handle.session.close()

    def _open(self, paths: StatePaths) -> TokenHandle:
        if uses_softhsm():
            if not token_exists(paths):
                if paths.db.exists():
                    raise StoreError(
                        f"the token files in {paths.token_dir} are gone: {RECOVER_HINT}"
                    )
                raise StoreError(
                    f"no token in {paths.token_dir}: run `comptoir provision init` first"
                )
            os.environ["SOFTHSM2_CONF"] = str(paths.softhsm_conf)
        pin = read_user_pin(paths)
        try:
            lib = pkcs11.lib(module_path())
            # Re-initialise so the module rereads its configuration and sees tokens created
            # since it was loaded (SoftHSM2 scans its token directory only in C_Initialize).
            lib.reinitialize()
            token = lib.get_token(token_label=token_label())
        except pkcs11.NoSuchToken:
            raise StoreError(f"token '{token_label()}' not found: {RECOVER_HINT}") from None
        except pkcs11.PKCS11Error as exc:
            raise StoreError(f"cannot load PKCS#11 module {module_path()}: {exc}") from exc
        try:
            session = token.open(rw=True, user_pin=pin)
        except pkcs11.PinIncorrect:
            raise StoreError(
                f"the token refused the stored PIN (secrets/ out of step): {RECOVER_HINT}"
            ) from None
        except pkcs11.PinLocked:
            raise StoreError(f"the token's user PIN is locked: {RECOVER_HINT}") from None
        except pkcs11.PKCS11Error as exc:
            raise StoreError(f"cannot log in to the token: {type(exc).__name__}") from exc
        finally:
            del pin
        return TokenHandle(paths, session)


_RUNTIME = _Runtime()


def open_token(paths: StatePaths) -> TokenHandle:
    return _RUNTIME.acquire(paths)


def close_token(handle: TokenHandle) -> None:
    _RUNTIME.release(handle)
