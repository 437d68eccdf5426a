from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.traits_request_sexe import TraitsRequestSexe
from ..types import UNSET, Unset

T = TypeVar("T", bound="TraitsRequest")


@_attrs_define
class TraitsRequest:
    """
    Attributes:
        date_naissance (str): YYYY-MM-DD (a calendar date)
        nom_naissance (str): Birth name (normalised by the box)
        sexe (TraitsRequestSexe):
        lieu_naissance (None | str | Unset): INSEE COG (99xxx abroad)
        prenoms (list[str] | Unset): First names in civil-register order
    """

    date_naissance: str
    nom_naissance: str
    sexe: TraitsRequestSexe
    lieu_naissance: None | str | Unset = UNSET
    prenoms: list[str] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        date_naissance = self.date_naissance

        nom_naissance = self.nom_naissance

        sexe = self.sexe.value

        lieu_naissance: None | str | Unset
        if isinstance(self.lieu_naissance, Unset):
            lieu_naissance = UNSET
        else:
            lieu_naissance = self.lieu_naissance

        prenoms: list[str] | Unset = UNSET
        if not isinstance(self.prenoms, Unset):
            prenoms = self.prenoms

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "date_naissance": date_naissance,
                "nom_naissance": nom_naissance,
                "sexe": sexe,
            }
        )
        if lieu_naissance is not UNSET:
            field_dict["lieu_naissance"] = lieu_naissance
        if prenoms is not UNSET:
            field_dict["prenoms"] = prenoms

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        date_naissance = d.pop("date_naissance")

        nom_naissance = d.pop("nom_naissance")

        sexe = TraitsRequestSexe(d.pop("sexe"))

        def _parse_lieu_naissance(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        lieu_naissance = _parse_lieu_naissance(d.pop("lieu_naissance", UNSET))

        prenoms = cast(list[str], d.pop("prenoms", UNSET))

        traits_request = cls(
            date_naissance=date_naissance,
            nom_naissance=nom_naissance,
            sexe=sexe,
            lieu_naissance=lieu_naissance,
            prenoms=prenoms,
        )

        return traits_request
