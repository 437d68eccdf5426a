from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="TerminalStatusModel")


@_attrs_define
class TerminalStatusModel:
    """
    Attributes:
        client (str): The enrolled client allowed to use it
        connected (bool):
        counter (str): The counter it serves (configuration), empty if unbound
        firmware (str): Firmware version reported at the handshake
        paired (bool):
        serial (str): The terminal's board serial (RP2040 unique id)
    """

    client: str
    connected: bool
    counter: str
    firmware: str
    paired: bool
    serial: str

    def to_dict(self) -> dict[str, Any]:
        client = self.client

        connected = self.connected

        counter = self.counter

        firmware = self.firmware

        paired = self.paired

        serial = self.serial

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "client": client,
                "connected": connected,
                "counter": counter,
                "firmware": firmware,
                "paired": paired,
                "serial": serial,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        client = d.pop("client")

        connected = d.pop("connected")

        counter = d.pop("counter")

        firmware = d.pop("firmware")

        paired = d.pop("paired")

        serial = d.pop("serial")

        terminal_status_model = cls(
            client=client,
            connected=connected,
            counter=counter,
            firmware=firmware,
            paired=paired,
            serial=serial,
        )

        return terminal_status_model
