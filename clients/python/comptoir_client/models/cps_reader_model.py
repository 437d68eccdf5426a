from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.lease_model import LeaseModel


T = TypeVar("T", bound="CpsReaderModel")


@_attrs_define
class CpsReaderModel:
    """
    Attributes:
        lease (LeaseModel): A CPS's unlock lease; every field but ``unlocked`` is null while the card is locked.
        reader (str):
    """

    lease: LeaseModel
    reader: str

    def to_dict(self) -> dict[str, Any]:
        lease = self.lease.to_dict()

        reader = self.reader

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "lease": lease,
                "reader": reader,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.lease_model import LeaseModel

        d = dict(src_dict)
        lease = LeaseModel.from_dict(d.pop("lease"))

        reader = d.pop("reader")

        cps_reader_model = cls(
            lease=lease,
            reader=reader,
        )

        return cps_reader_model
