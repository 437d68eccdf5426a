"""The one place that reads configuration: ``/etc/comptoir/comptoir.toml``.

Every setting is validated at start-up and a mistake is reported as one line naming the key,
so a technician on the console sees what to fix instead of a traceback. Every command
(``serve``, ``provision``, ``audit``, ``sim``) gets its settings from :func:`settings_for`, so
they all find the same state directory the same way.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from datetime import time as dtime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hostd.disk import DiskSettings
from provisioning.paths import DEFAULT_STATE_DIR, STATE_DIR_ENV

if TYPE_CHECKING:
    from hostd.scanning.settings import ScanSettings

DEFAULT_CONFIG = Path("/etc/comptoir/comptoir.toml")
"""Read when no ``--config`` is given and the file exists (a box); else built-in defaults."""


class ConfigError(Exception):
    """A configuration file that cannot be used; the message is one line."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    listen: str = "127.0.0.1"
    """Address of both listeners. On a box: its LAN address (the firewall limits the subnet)."""
    port: int = Field(default=8443, ge=0, le=65535)
    """mTLS API: a client certificate from the box's local CA is required at the handshake."""
    enrol_port: int = Field(default=8444, ge=0, le=65535)
    """Server-authenticated TLS, serving only the enrolment endpoint (one-time pairing code)."""

    @field_validator("listen")
    @classmethod
    def _address(cls, value: str) -> str:
        ipaddress.ip_address(value)
        return value


class CpsSettings(_Section):
    api_pin: bool = False
    """Whether a PIN may arrive in an API request. Off on a box: the PIN comes from the counter
    terminal's keypad and never crosses a counter PC (the demo and tests turn it on)."""
    idle_timeout_s: float = Field(default=900.0, gt=0, le=86400)
    """An unlocked CPS with no operation for this long is reset and needs the PIN again."""
    wrong_pins_per_client: int = Field(default=1, ge=1, le=2)
    """Wrong API PINs one client may present on a card before a correct PIN (from anyone)
    resets the count: with 3 tries and the last one kept for the cardholder, one counter
    cannot spend the try another counter's person needs."""
    end_of_day: str = "20:00"
    """Local time (HH:MM) at which every unlocked CPS is reset, whatever its activity."""

    @field_validator("end_of_day")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("must be HH:MM (24 h)")
        return value

    def end_of_day_time(self) -> dtime:
        hours, minutes = self.end_of_day.split(":")
        return dtime(int(hours), int(minutes))


class SchedulerSettings(_Section):
    deadline_s: float = Field(default=30.0, gt=0, le=600)
    """How long a job may wait for its card before it fails (GALSS clients wait 25 s)."""


class EnrolmentSettings(_Section):
    attempts_per_minute: int = Field(default=30, ge=1, le=1000)
    """Global ceiling of enrolment attempts per minute (all peers), except that an address's
    first attempt of the minute always goes through (a technician is never locked out)."""
    attempts_per_source: int = Field(default=5, ge=1, le=1000)
    """Enrolment attempts per minute from one address: guessing a code stays slow."""


class ListenerLimits(_Section):
    """One listener's share of the daemon's file descriptors and concurrency."""

    max_connections: int = Field(ge=1, le=100000)
    """Open connections (TLS handshakes included) beyond which new ones are closed at accept."""
    per_source: int = Field(ge=1, le=100000)
    """Open connections from one source address."""
    max_in_flight: int = Field(ge=1, le=100000)
    """Requests being handled at once; beyond, an immediate 503 ``overloaded``."""


class LimitsSettings(_Section):
    """Connection discipline for both listeners (docs/hostd.md "Hostile LAN traffic").

    The enrolment listener's caps plus the API's plus :data:`hostd.limits.FD_RESERVE` must fit
    under the process's file-descriptor limit (checked at start), so the unauthenticated port
    can never take the descriptors the API needs."""

    handshake_timeout_s: float = Field(default=5.0, gt=0, le=120)
    header_timeout_s: float = Field(default=10.0, gt=0, le=300)
    """From the connection (or the first byte of a request) to the end of its headers."""
    body_timeout_s: float = Field(default=30.0, gt=0, le=600)
    """From the end of the headers to the end of the body."""
    keep_alive_s: float = Field(default=30.0, gt=0, le=600)
    api: ListenerLimits = ListenerLimits(max_connections=512, per_source=256, max_in_flight=256)
    """A terminal server running several counters' LGO sessions is one source address."""
    enrol: ListenerLimits = ListenerLimits(max_connections=64, per_source=4, max_in_flight=8)


class TerminalBinding(_Section):
    counter: str = Field(min_length=1, max_length=16)
    """The counter's name, shown on the terminal's idle screen (16 characters: one LCD line)."""
    client: str = Field(min_length=1)
    """The enrolled LAN client (that counter's PC) allowed to start an unlock on it."""


class TerminalSettings(_Section):
    ports: tuple[str, ...] = ("/dev/serial/by-id/usb-MicroPython_*",)
    """Globs of the serial ports where terminals are looked for (udev's stable names)."""
    pin_timeout_s: float = Field(default=30.0, ge=5, le=120)
    """How long the person has to type the PIN (each key gives this time again)."""
    bind: dict[str, TerminalBinding] = Field(default_factory=dict)
    """Terminal serial -> its counter and that counter's client ([terminals.bind.SERIAL])."""


class Settings(_Section):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    state_dir: Path = DEFAULT_STATE_DIR
    server: ServerSettings = ServerSettings()
    cps: CpsSettings = CpsSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    enrolment: EnrolmentSettings = EnrolmentSettings()
    terminals: TerminalSettings = TerminalSettings()
    limits: LimitsSettings = LimitsSettings()
    disk: DiskSettings = DiskSettings()
    teleservices: Any = None
    """INSi and the DMP (``[teleservices]``, parsed by ``hostd.teleservices.settings`` into a
    ``TeleserviceSettings``); absent: the box does not talk to them."""

    @field_validator("teleservices", mode="before")
    @classmethod
    def _teleservices(cls, value: Any) -> Any:
        if value is None:
            return None
        # Imported only when the table exists: a box without it never loads the HTTP client.
        from hostd.teleservices import settings as teleservices

        if isinstance(value, teleservices.TeleserviceSettings):
            return value
        if not isinstance(value, dict):
            raise ValueError("must be a table")
        try:
            return teleservices.parse(value, where="")
        except teleservices.TeleserviceSettingsError as exc:
            raise ValueError(str(exc)) from None
    scan: dict[str, Any] = Field(default_factory=dict)
    """``[scan]``: scanners, cameras, classification rules, the ordonnance guard
    (``hostd.scanning.settings``, docs/scanning.md)."""
    apcv: dict[str, Any] | None = None
    """``[apcv]``: the GIE's ApCV service and the pharmacy's billing identity
    (``hostd.services.apcv``); absent = no ApCV routes."""

    @field_validator("scan")
    @classmethod
    def _scan(cls, value: dict[str, Any]) -> dict[str, Any]:
        from hostd.scanning.settings import ScanSettings

        ScanSettings.from_table(value)  # ScanConfigError is a ValueError: one line
        return value

    @field_validator("apcv")
    @classmethod
    def _apcv(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            # Imported only when configured: the ApCV client brings httpx and the SOAP layer.
            from hostd.services.apcv import ApcvSettings

            ApcvSettings.from_table(value)
        return value

    def scan_settings(self) -> ScanSettings:
        from hostd.scanning.settings import ScanSettings

        return ScanSettings.from_table(self.scan)


def load(path: Path, *, state_dir: Path | None = None) -> Settings:
    """Reads and validates a config file; ``state_dir`` overrides the file (development)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    if state_dir is not None:
        raw["state_dir"] = str(state_dir)
    return from_dict(raw, source=str(path))


def settings_for(config: Path | None, *, state_dir: Path | None = None) -> Settings:
    """Every command's settings. The state directory, first found: ``--state-dir``,
    ``$COMPTOIR_STATE_DIR`` (development, tests), the config file's ``state_dir``, the default.

    The file is ``--config`` when given (it must then exist), else :data:`DEFAULT_CONFIG` when
    present: ``comptoir provision`` on a box reads the same file ``comptoir serve`` does."""
    if config is None and DEFAULT_CONFIG.is_file():
        config = DEFAULT_CONFIG
    override = state_dir
    if override is None and os.environ.get(STATE_DIR_ENV):
        override = Path(os.environ[STATE_DIR_ENV])
    if config is None:
        return from_dict({} if override is None else {"state_dir": str(override)},
                         source="settings")
    return load(config, state_dir=override)


def from_dict(raw: dict[str, object], *, source: str = "config") -> Settings:
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{source}: {where}: {message}") from exc
