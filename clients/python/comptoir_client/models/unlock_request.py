from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="UnlockRequest")


@_attrs_define
class UnlockRequest:
    """
    Attributes:
        pin (str): The cardholder's PIN, 4 to 8 digits. Never logged.
    """

    pin: str

    def to_dict(self) -> dict[str, Any]:
        pin = self.pin

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "pin": pin,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        pin = d.pop("pin")

        unlock_request = cls(
            pin=pin,
        )

        return unlock_request
