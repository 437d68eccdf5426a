from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.cps_holder_model import CpsHolderModel
    from ..models.lease_model import LeaseModel


T = TypeVar("T", bound="CpsHolderResponse")


@_attrs_define
class CpsHolderResponse:
    """
    Attributes:
        holder (CpsHolderModel):
        lease (LeaseModel): A CPS's unlock lease; every field but ``unlocked`` is null while the card is locked.
    """

    holder: CpsHolderModel
    lease: LeaseModel

    def to_dict(self) -> dict[str, Any]:
        holder = self.holder.to_dict()

        lease = self.lease.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "holder": holder,
                "lease": lease,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.cps_holder_model import CpsHolderModel
        from ..models.lease_model import LeaseModel

        d = dict(src_dict)
        holder = CpsHolderModel.from_dict(d.pop("holder"))

        lease = LeaseModel.from_dict(d.pop("lease"))

        cps_holder_response = cls(
            holder=holder,
            lease=lease,
        )

        return cps_holder_response
