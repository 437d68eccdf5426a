from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.operator_model import OperatorModel


T = TypeVar("T", bound="DmpExistenceRequest")


@_attrs_define
class DmpExistenceRequest:
    """
    Attributes:
        ins (str): INS: NIR or NIA with its key
        operator (OperatorModel):
    """

    ins: str
    operator: OperatorModel

    def to_dict(self) -> dict[str, Any]:
        ins = self.ins

        operator = self.operator.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "ins": ins,
                "operator": operator,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.operator_model import OperatorModel

        d = dict(src_dict)
        ins = d.pop("ins")

        operator = OperatorModel.from_dict(d.pop("operator"))

        dmp_existence_request = cls(
            ins=ins,
            operator=operator,
        )

        return dmp_existence_request
