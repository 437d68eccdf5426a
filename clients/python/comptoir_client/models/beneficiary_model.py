from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.birth_date_model import BirthDateModel
    from ..models.nir_check_model import NirCheckModel


T = TypeVar("T", bound="BeneficiaryModel")


@_attrs_define
class BeneficiaryModel:
    """
    Attributes:
        birth_date (BirthDateModel):
        nir (NirCheckModel | None):
        nom_naissance (None | str):
        nom_usuel (str):
        prenom (str):
        qualite (str):
        qualite_label (None | str):
        rang (int):
        rights_end (datetime.date | None):
    """

    birth_date: BirthDateModel
    nir: NirCheckModel | None
    nom_naissance: None | str
    nom_usuel: str
    prenom: str
    qualite: str
    qualite_label: None | str
    rang: int
    rights_end: datetime.date | None

    def to_dict(self) -> dict[str, Any]:
        from ..models.nir_check_model import NirCheckModel

        birth_date = self.birth_date.to_dict()

        nir: dict[str, Any] | None
        if isinstance(self.nir, NirCheckModel):
            nir = self.nir.to_dict()
        else:
            nir = self.nir

        nom_naissance: None | str
        nom_naissance = self.nom_naissance

        nom_usuel = self.nom_usuel

        prenom = self.prenom

        qualite = self.qualite

        qualite_label: None | str
        qualite_label = self.qualite_label

        rang = self.rang

        rights_end: None | str
        if isinstance(self.rights_end, datetime.date):
            rights_end = self.rights_end.isoformat()
        else:
            rights_end = self.rights_end

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "birth_date": birth_date,
                "nir": nir,
                "nom_naissance": nom_naissance,
                "nom_usuel": nom_usuel,
                "prenom": prenom,
                "qualite": qualite,
                "qualite_label": qualite_label,
                "rang": rang,
                "rights_end": rights_end,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.birth_date_model import BirthDateModel
        from ..models.nir_check_model import NirCheckModel

        d = dict(src_dict)
        birth_date = BirthDateModel.from_dict(d.pop("birth_date"))

        def _parse_nir(data: object) -> NirCheckModel | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                nir_type_0 = NirCheckModel.from_dict(data)

                return nir_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(NirCheckModel | None, data)

        nir = _parse_nir(d.pop("nir"))

        def _parse_nom_naissance(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        nom_naissance = _parse_nom_naissance(d.pop("nom_naissance"))

        nom_usuel = d.pop("nom_usuel")

        prenom = d.pop("prenom")

        qualite = d.pop("qualite")

        def _parse_qualite_label(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        qualite_label = _parse_qualite_label(d.pop("qualite_label"))

        rang = d.pop("rang")

        def _parse_rights_end(data: object) -> datetime.date | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                rights_end_type_0 = datetime.date.fromisoformat(data)

                return rights_end_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None, data)

        rights_end = _parse_rights_end(d.pop("rights_end"))

        beneficiary_model = cls(
            birth_date=birth_date,
            nir=nir,
            nom_naissance=nom_naissance,
            nom_usuel=nom_usuel,
            prenom=prenom,
            qualite=qualite,
            qualite_label=qualite_label,
            rang=rang,
            rights_end=rights_end,
        )

        return beneficiary_model
