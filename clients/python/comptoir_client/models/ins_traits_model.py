from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="InsTraitsModel")


@_attrs_define
class InsTraitsModel:
    """
    Attributes:
        date_naissance (str):
        lieu_naissance (None | str):
        liste_prenom (str):
        nom_naissance (str):
        prenom (str):
        sexe (str):
    """

    date_naissance: str
    lieu_naissance: None | str
    liste_prenom: str
    nom_naissance: str
    prenom: str
    sexe: str

    def to_dict(self) -> dict[str, Any]:
        date_naissance = self.date_naissance

        lieu_naissance: None | str
        lieu_naissance = self.lieu_naissance

        liste_prenom = self.liste_prenom

        nom_naissance = self.nom_naissance

        prenom = self.prenom

        sexe = self.sexe

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "date_naissance": date_naissance,
                "lieu_naissance": lieu_naissance,
                "liste_prenom": liste_prenom,
                "nom_naissance": nom_naissance,
                "prenom": prenom,
                "sexe": sexe,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        date_naissance = d.pop("date_naissance")

        def _parse_lieu_naissance(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        lieu_naissance = _parse_lieu_naissance(d.pop("lieu_naissance"))

        liste_prenom = d.pop("liste_prenom")

        nom_naissance = d.pop("nom_naissance")

        prenom = d.pop("prenom")

        sexe = d.pop("sexe")

        ins_traits_model = cls(
            date_naissance=date_naissance,
            lieu_naissance=lieu_naissance,
            liste_prenom=liste_prenom,
            nom_naissance=nom_naissance,
            prenom=prenom,
            sexe=sexe,
        )

        return ins_traits_model
