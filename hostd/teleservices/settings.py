"""Settings of the téléservice clients: the ``[teleservices]`` table of the configuration.

A frozen dataclass parsed from one TOML table, each mistake reported as one line naming the
key. Without the table the daemon runs without INSi/DMP (the routes answer 503
``teleservice-not-configured``).

    [teleservices]
    lps_idam = "AM-TEST-0001"          # software authorisation number (ContexteLPS IDAM)
    lps_name = "Comptoir"
    lps_version = "0.1.0"
    lps_instance = "box-0001"          # this box
    billing_id = "0123456789"          # identifiantFacturation of the assertion PS
    secteur_activite = "SA05"          # secteurActivite of the assertion PS
    structure_id = "3750000001"        # VIHF Identifiant_Structure
    dmp_secteur_activite = "SA33^1.2.250.1.71.4.2.4"
    dmp_homologation_id = "DMP-TEST-0001"
    default_mode = "certificate"       # or "cpx"
    connect_timeout_s = 5
    read_timeout_s = 20
    attempts = 2
    deadline_s = 45
    # pkcs11_engine = "/usr/lib/aarch64-linux-gnu/engines-3/pkcs11.so"  # default: this
    #                                  # machine's multiarch (libengine-pkcs11-openssl)

    [teleservices.insi]
    host = "127.0.0.1"
    port = 9443
    server_name = "insi.double.test"
    path = "/ICIR-v1"

    [teleservices.dmp]
    host = "127.0.0.1"
    port = 9444
    server_name = "dmp.double.test"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hostd.teleservices import mtls, soap
from hostd.teleservices.names import Mode


class TeleserviceSettingsError(ValueError):
    """One line: ``teleservices.<key>: what is wrong``."""


@dataclass(frozen=True)
class ServiceAddress:
    host: str
    port: int
    server_name: str
    path: str = ""


@dataclass(frozen=True)
class TeleserviceSettings:
    lps: soap.LpsIdentity
    billing_id: str
    secteur_activite: str
    structure_id: str
    dmp_secteur_activite: str
    dmp_homologation_id: str
    default_mode: Mode
    policy: soap.CallPolicy
    insi: ServiceAddress
    dmp: ServiceAddress
    pkcs11_engine: str | None = None  # None: the engine of this machine's multiarch

    def endpoints(self) -> list[mtls.Endpoint]:
        return [
            mtls.Endpoint("insi", self.insi.host, self.insi.port, self.insi.server_name),
            mtls.Endpoint("dmp", self.dmp.host, self.dmp.port, self.dmp.server_name),
        ]


_REQUIRED = ("lps_idam", "lps_name", "lps_version", "lps_instance", "billing_id",
             "secteur_activite", "structure_id", "dmp_secteur_activite", "dmp_homologation_id")
_NUMBERS = {"connect_timeout_s": 5.0, "read_timeout_s": 20.0, "attempts": 2,
            "deadline_s": 45.0}
_KNOWN = set(_REQUIRED) | set(_NUMBERS) | {"default_mode", "insi", "dmp", "pkcs11_engine"}


def _address(raw: Any, name: str, default_path: str) -> ServiceAddress:
    where = name + "."
    if not isinstance(raw, dict):
        raise TeleserviceSettingsError(f"{name}: a table with host, port, server_name")
    unknown = set(raw) - {"host", "port", "server_name", "path"}
    if unknown:
        raise TeleserviceSettingsError(f"{where}{sorted(unknown)[0]}: unknown key")
    for key in ("host", "server_name"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise TeleserviceSettingsError(f"{where}{key}: required text")
    port = raw.get("port")
    if not isinstance(port, int) or not 0 < port < 65536:
        raise TeleserviceSettingsError(f"{where}port: an integer 1-65535")
    path = raw.get("path", default_path)
    if not isinstance(path, str) or not re.fullmatch(r"(/[A-Za-z0-9._\-]*)*", path):
        raise TeleserviceSettingsError(f"{where}path: an absolute URL path")
    try:
        mtls.Endpoint("x", raw["host"], port, raw["server_name"])
    except mtls.TunnelError as exc:
        raise TeleserviceSettingsError(f"{name}: {exc}".replace("endpoint x: ", "")) from None
    return ServiceAddress(raw["host"], port, raw["server_name"], path)


def parse(raw: dict[str, Any], where: str = "teleservices") -> TeleserviceSettings:
    """``where`` prefixes every key in messages ("" when the caller already names the table)."""
    table = where or "teleservices"
    where = where + "." if where else ""
    unknown = set(raw) - _KNOWN
    if unknown:
        raise TeleserviceSettingsError(f"{where}{sorted(unknown)[0]}: unknown key")
    for key in _REQUIRED:
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise TeleserviceSettingsError(f"{where}{key}: required text")
    numbers = {k: raw.get(k, d) for k, d in _NUMBERS.items()}
    for key, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TeleserviceSettingsError(f"{where}{key}: a number")
    try:
        mode = Mode(raw.get("default_mode", "certificate"))
    except ValueError:
        raise TeleserviceSettingsError(f"{where}default_mode: certificate or cpx") from None
    engine = raw.get("pkcs11_engine")
    if engine is not None and (not isinstance(engine, str) or not engine.startswith("/")):
        raise TeleserviceSettingsError(f"{where}pkcs11_engine: an absolute path")
    try:
        lps = soap.LpsIdentity(raw["lps_idam"], raw["lps_name"], raw["lps_version"],
                               raw["lps_instance"])
        policy = soap.CallPolicy(
            connect_timeout_s=float(numbers["connect_timeout_s"]),
            read_timeout_s=float(numbers["read_timeout_s"]), attempts=int(numbers["attempts"]),
            deadline_s=float(numbers["deadline_s"]),
        )
    except ValueError as exc:
        raise TeleserviceSettingsError(f"{table}: {exc}") from None
    return TeleserviceSettings(
        lps, raw["billing_id"], raw["secteur_activite"], raw["structure_id"],
        raw["dmp_secteur_activite"], raw["dmp_homologation_id"], mode, policy,
        _address(raw.get("insi"), f"{where}insi", "/ICIR-v1"),
        _address(raw.get("dmp"), f"{where}dmp", ""), engine,
    )
