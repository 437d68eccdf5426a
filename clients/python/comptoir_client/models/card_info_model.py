from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="CardInfoModel")


@_attrs_define
class CardInfoModel:
    """
    Attributes:
        card_type (str):
        serial (str):
        valid_from (datetime.date):
    """

    card_type: str
    serial: str
    valid_from: datetime.date

    def to_dict(self) -> dict[str, Any]:
        card_type = self.card_type

        serial = self.serial

        valid_from = self.valid_from.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "card_type": card_type,
                "serial": serial,
                "valid_from": valid_from,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        card_type = d.pop("card_type")

        serial = d.pop("serial")

        valid_from = datetime.date.fromisoformat(d.pop("valid_from"))

        card_info_model = cls(
            card_type=card_type,
            serial=serial,
            valid_from=valid_from,
        )

        return card_info_model
