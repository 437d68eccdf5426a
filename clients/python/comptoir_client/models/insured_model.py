from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.exemption_model import ExemptionModel
    from ..models.nir_check_model import NirCheckModel
    from ..models.rights_period_model import RightsPeriodModel
    from ..models.scheme_model import SchemeModel


T = TypeVar("T", bound="InsuredModel")


@_attrs_define
class InsuredModel:
    """
    Attributes:
        exemptions (list[ExemptionModel]):
        nir (NirCheckModel):
        rights (list[RightsPeriodModel]):
        scheme (SchemeModel):
    """

    exemptions: list[ExemptionModel]
    nir: NirCheckModel
    rights: list[RightsPeriodModel]
    scheme: SchemeModel

    def to_dict(self) -> dict[str, Any]:
        exemptions = []
        for exemptions_item_data in self.exemptions:
            exemptions_item = exemptions_item_data.to_dict()
            exemptions.append(exemptions_item)

        nir = self.nir.to_dict()

        rights = []
        for rights_item_data in self.rights:
            rights_item = rights_item_data.to_dict()
            rights.append(rights_item)

        scheme = self.scheme.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "exemptions": exemptions,
                "nir": nir,
                "rights": rights,
                "scheme": scheme,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.exemption_model import ExemptionModel
        from ..models.nir_check_model import NirCheckModel
        from ..models.rights_period_model import RightsPeriodModel
        from ..models.scheme_model import SchemeModel

        d = dict(src_dict)
        exemptions = []
        _exemptions = d.pop("exemptions")
        for exemptions_item_data in _exemptions:
            exemptions_item = ExemptionModel.from_dict(exemptions_item_data)

            exemptions.append(exemptions_item)

        nir = NirCheckModel.from_dict(d.pop("nir"))

        rights = []
        _rights = d.pop("rights")
        for rights_item_data in _rights:
            rights_item = RightsPeriodModel.from_dict(rights_item_data)

            rights.append(rights_item)

        scheme = SchemeModel.from_dict(d.pop("scheme"))

        insured_model = cls(
            exemptions=exemptions,
            nir=nir,
            rights=rights,
            scheme=scheme,
        )

        return insured_model
