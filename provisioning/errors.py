"""Provisioning errors: each carries one line a technician can act on."""

from __future__ import annotations


class ProvisioningError(Exception):
    """Base: the message is the one line the CLI prints and the daemon logs."""


class StoreError(ProvisioningError):
    """The token is missing, locked, or refuses our PIN; or the state directory is unusable."""


class SlotEmptyError(ProvisioningError):
    """The slot has no key (or no certificate) yet."""


class CertificateError(ProvisioningError):
    """A certificate or PKCS#12 file could not be read or does not fit."""


class KeyMismatchError(CertificateError):
    """The certificate's public key is not the slot's key."""


class ChainError(CertificateError):
    """No valid path from the certificate to a trusted root (broken, expired, untrusted)."""


class PairingError(ProvisioningError):
    """A pairing code is unknown, expired or already used."""
