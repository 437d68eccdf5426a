"""The named key slots of the box and what IGC-Santé (or the box itself) issues for each."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Slot(enum.StrEnum):
    """Values appear in URLs, the CLI and the database; never rename one."""

    ORG_AUTH_CLI = "org-auth-cli"
    ORG_SIGN = "org-sign"
    ORG_CONF = "org-conf"
    SERV_SSL = "serv-ssl"
    BOX_LAN = "box-lan"


@dataclass(frozen=True)
class SlotSpec:
    slot: Slot
    title: str
    # "ORG" (certificat de personne morale), "SERV" (serveur) or "LOCAL" (the box's own CA).
    family: str
    decrypt: bool
    igc_sante: bool


SPECS: dict[Slot, SlotSpec] = {
    Slot.ORG_AUTH_CLI: SlotSpec(
        Slot.ORG_AUTH_CLI,
        "ORG authentication (TLS client: INSi, DMP)",
        "ORG",
        decrypt=False,
        igc_sante=True,
    ),
    Slot.ORG_SIGN: SlotSpec(
        Slot.ORG_SIGN, "ORG signature (VIHF, documents)", "ORG", decrypt=False, igc_sante=True
    ),
    Slot.ORG_CONF: SlotSpec(
        Slot.ORG_CONF, "ORG confidentiality (decryption)", "ORG", decrypt=True, igc_sante=True
    ),
    Slot.SERV_SSL: SlotSpec(
        Slot.SERV_SSL, "Server TLS (SSL_SERV)", "SERV", decrypt=False, igc_sante=True
    ),
    Slot.BOX_LAN: SlotSpec(
        Slot.BOX_LAN,
        "Box local CA (LAN client and server certificates)",
        "LOCAL",
        decrypt=False,
        igc_sante=False,
    ),
}


def parse_slot(value: str) -> Slot:
    try:
        return Slot(value.lower().replace("_", "-"))
    except ValueError:
        names = ", ".join(s.value for s in Slot)
        raise ValueError(f"unknown slot {value!r} (one of: {names})") from None
