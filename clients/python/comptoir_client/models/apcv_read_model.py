from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.apcv_read_model_source import ApcvReadModelSource

if TYPE_CHECKING:
    from ..models.amc_contract_model import AmcContractModel
    from ..models.apcv_context_model import ApcvContextModel
    from ..models.beneficiary_model import BeneficiaryModel
    from ..models.card_info_model import CardInfoModel
    from ..models.insured_model import InsuredModel


T = TypeVar("T", bound="ApcvReadModel")


@_attrs_define
class ApcvReadModel:
    """A Vitale-shaped read that came from the application carte Vitale.

    Attributes:
        amc (list[AmcContractModel]):
        apcv_context (ApcvContextModel):
        beneficiaries (list[BeneficiaryModel]):
        card (CardInfoModel):
        insured (InsuredModel):
        nir_problems (list[str]):
        source (ApcvReadModelSource):
    """

    amc: list[AmcContractModel]
    apcv_context: ApcvContextModel
    beneficiaries: list[BeneficiaryModel]
    card: CardInfoModel
    insured: InsuredModel
    nir_problems: list[str]
    source: ApcvReadModelSource

    def to_dict(self) -> dict[str, Any]:
        amc = []
        for amc_item_data in self.amc:
            amc_item = amc_item_data.to_dict()
            amc.append(amc_item)

        apcv_context = self.apcv_context.to_dict()

        beneficiaries = []
        for beneficiaries_item_data in self.beneficiaries:
            beneficiaries_item = beneficiaries_item_data.to_dict()
            beneficiaries.append(beneficiaries_item)

        card = self.card.to_dict()

        insured = self.insured.to_dict()

        nir_problems = self.nir_problems

        source = self.source.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "amc": amc,
                "apcv_context": apcv_context,
                "beneficiaries": beneficiaries,
                "card": card,
                "insured": insured,
                "nir_problems": nir_problems,
                "source": source,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.amc_contract_model import AmcContractModel
        from ..models.apcv_context_model import ApcvContextModel
        from ..models.beneficiary_model import BeneficiaryModel
        from ..models.card_info_model import CardInfoModel
        from ..models.insured_model import InsuredModel

        d = dict(src_dict)
        amc = []
        _amc = d.pop("amc")
        for amc_item_data in _amc:
            amc_item = AmcContractModel.from_dict(amc_item_data)

            amc.append(amc_item)

        apcv_context = ApcvContextModel.from_dict(d.pop("apcv_context"))

        beneficiaries = []
        _beneficiaries = d.pop("beneficiaries")
        for beneficiaries_item_data in _beneficiaries:
            beneficiaries_item = BeneficiaryModel.from_dict(beneficiaries_item_data)

            beneficiaries.append(beneficiaries_item)

        card = CardInfoModel.from_dict(d.pop("card"))

        insured = InsuredModel.from_dict(d.pop("insured"))

        nir_problems = cast(list[str], d.pop("nir_problems"))

        source = ApcvReadModelSource(d.pop("source"))

        apcv_read_model = cls(
            amc=amc,
            apcv_context=apcv_context,
            beneficiaries=beneficiaries,
            card=card,
            insured=insured,
            nir_problems=nir_problems,
            source=source,
        )

        return apcv_read_model
