from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.amc_contract_model import AmcContractModel
    from ..models.beneficiary_model import BeneficiaryModel
    from ..models.card_info_model import CardInfoModel
    from ..models.insured_model import InsuredModel


T = TypeVar("T", bound="VitaleReadModel")


@_attrs_define
class VitaleReadModel:
    """Everything read from one carte Vitale, in card order; NIR problems are reported, never
    hidden (the LGO shows the card and flags it).

        Attributes:
            amc (list[AmcContractModel]):
            beneficiaries (list[BeneficiaryModel]):
            card (CardInfoModel):
            insured (InsuredModel):
            nir_problems (list[str]):
    """

    amc: list[AmcContractModel]
    beneficiaries: list[BeneficiaryModel]
    card: CardInfoModel
    insured: InsuredModel
    nir_problems: list[str]

    def to_dict(self) -> dict[str, Any]:
        amc = []
        for amc_item_data in self.amc:
            amc_item = amc_item_data.to_dict()
            amc.append(amc_item)

        beneficiaries = []
        for beneficiaries_item_data in self.beneficiaries:
            beneficiaries_item = beneficiaries_item_data.to_dict()
            beneficiaries.append(beneficiaries_item)

        card = self.card.to_dict()

        insured = self.insured.to_dict()

        nir_problems = self.nir_problems

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "amc": amc,
                "beneficiaries": beneficiaries,
                "card": card,
                "insured": insured,
                "nir_problems": nir_problems,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.amc_contract_model import AmcContractModel
        from ..models.beneficiary_model import BeneficiaryModel
        from ..models.card_info_model import CardInfoModel
        from ..models.insured_model import InsuredModel

        d = dict(src_dict)
        amc = []
        _amc = d.pop("amc")
        for amc_item_data in _amc:
            amc_item = AmcContractModel.from_dict(amc_item_data)

            amc.append(amc_item)

        beneficiaries = []
        _beneficiaries = d.pop("beneficiaries")
        for beneficiaries_item_data in _beneficiaries:
            beneficiaries_item = BeneficiaryModel.from_dict(beneficiaries_item_data)

            beneficiaries.append(beneficiaries_item)

        card = CardInfoModel.from_dict(d.pop("card"))

        insured = InsuredModel.from_dict(d.pop("insured"))

        nir_problems = cast(list[str], d.pop("nir_problems"))

        vitale_read_model = cls(
            amc=amc,
            beneficiaries=beneficiaries,
            card=card,
            insured=insured,
            nir_problems=nir_problems,
        )

        return vitale_read_model
