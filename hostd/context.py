"""What the app is built from: settings, the audit log, devices and services (no globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from hostd.audit import AuditLog, HeadSigner
from hostd.auth import ClientDirectory
from hostd.config import Settings
from hostd.services.clients import ClientAdmin
from hostd.services.cps import CpsService
from hostd.services.readers import ReaderHub
from hostd.services.signing import SigningService
from hostd.services.terminals import TerminalService
from hostd.services.vitale import VitaleService

if TYPE_CHECKING:
    from hostd.scanning.hub import ScanHub
    from hostd.services.apcv import ApcvService
from provisioning.store import SlotStatus

if TYPE_CHECKING:  # the téléservice clients load httpx: only on boxes that use them
    from hostd.services.teleservices import TeleserviceParts, TeleservicesService


class Watcher(Protocol):
    """The reader watcher feeding a :class:`ReaderHub` (``drivers.pcsc`` on a box)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Devices:
    clients: ClientDirectory
    hub: ReaderHub
    watcher: Watcher | None = None
    signing: SigningService | None = None
    admin: ClientAdmin | None = None
    head_signer: HeadSigner | None = None
    terminals: TerminalService | None = None
    """The counter terminals (PIN pads), when the box has any configured or paired."""
    certificates: Callable[[], list[SlotStatus]] = field(default=lambda: [])
    """Certificates whose expiry the status page shows (ORG keys, TLS server, local CA)."""
    teleservices: TeleserviceParts | None = None
    """INSi/DMP: the TLS tunnel with the box's key, the VIHF signer (``[teleservices]``)."""


@dataclass
class AppContext:
    settings: Settings
    audit: AuditLog
    devices: Devices
    cps: CpsService
    vitale: VitaleService
    teleservices: TeleservicesService | None = None
    scans: ScanHub | None = None
    apcv: ApcvService | None = None
