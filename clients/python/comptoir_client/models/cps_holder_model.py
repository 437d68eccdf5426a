from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.situation_model import SituationModel


T = TypeVar("T", bound="CpsHolderModel")


@_attrs_define
class CpsHolderModel:
    """
    Attributes:
        card_serial (str):
        civilite (str):
        nom (str):
        prenom (str):
        profession (str):
        rpps (str):
        situations (list[SituationModel]):
        specialty (None | str):
    """

    card_serial: str
    civilite: str
    nom: str
    prenom: str
    profession: str
    rpps: str
    situations: list[SituationModel]
    specialty: None | str

    def to_dict(self) -> dict[str, Any]:
        card_serial = self.card_serial

        civilite = self.civilite

        nom = self.nom

        prenom = self.prenom

        profession = self.profession

        rpps = self.rpps

        situations = []
        for situations_item_data in self.situations:
            situations_item = situations_item_data.to_dict()
            situations.append(situations_item)

        specialty: None | str
        specialty = self.specialty

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "card_serial": card_serial,
                "civilite": civilite,
                "nom": nom,
                "prenom": prenom,
                "profession": profession,
                "rpps": rpps,
                "situations": situations,
                "specialty": specialty,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.situation_model import SituationModel

        d = dict(src_dict)
        card_serial = d.pop("card_serial")

        civilite = d.pop("civilite")

        nom = d.pop("nom")

        prenom = d.pop("prenom")

        profession = d.pop("profession")

        rpps = d.pop("rpps")

        situations = []
        _situations = d.pop("situations")
        for situations_item_data in _situations:
            situations_item = SituationModel.from_dict(situations_item_data)

            situations.append(situations_item)

        def _parse_specialty(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        specialty = _parse_specialty(d.pop("specialty"))

        cps_holder_model = cls(
            card_serial=card_serial,
            civilite=civilite,
            nom=nom,
            prenom=prenom,
            profession=profession,
            rpps=rpps,
            situations=situations,
            specialty=specialty,
        )

        return cps_holder_model
