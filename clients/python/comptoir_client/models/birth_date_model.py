from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="BirthDateModel")


@_attrs_define
class BirthDateModel:
    """
    Attributes:
        iso (None | str): YYYY-MM-DD, null for a lunar date
        lunar (bool):
        text (str): YYYYMMDD exactly as on the card (00 = unknown day/month)
    """

    iso: None | str
    lunar: bool
    text: str

    def to_dict(self) -> dict[str, Any]:
        iso: None | str
        iso = self.iso

        lunar = self.lunar

        text = self.text

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "iso": iso,
                "lunar": lunar,
                "text": text,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_iso(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        iso = _parse_iso(d.pop("iso"))

        lunar = d.pop("lunar")

        text = d.pop("text")

        birth_date_model = cls(
            iso=iso,
            lunar=lunar,
            text=text,
        )

        return birth_date_model
