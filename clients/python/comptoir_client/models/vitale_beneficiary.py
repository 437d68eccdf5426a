from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="VitaleBeneficiary")


@_attrs_define
class VitaleBeneficiary:
    """
    Attributes:
        beneficiary (int): Index in the card's beneficiary list
        reader (str): Reader holding the carte Vitale
    """

    beneficiary: int
    reader: str

    def to_dict(self) -> dict[str, Any]:
        beneficiary = self.beneficiary

        reader = self.reader

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "beneficiary": beneficiary,
                "reader": reader,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        beneficiary = d.pop("beneficiary")

        reader = d.pop("reader")

        vitale_beneficiary = cls(
            beneficiary=beneficiary,
            reader=reader,
        )

        return vitale_beneficiary
