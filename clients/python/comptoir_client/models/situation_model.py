from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="SituationModel")


@_attrs_define
class SituationModel:
    """
    Attributes:
        finess (None | str):
        number (int):
        role (str):
        siret (None | str):
        structure_name (str):
    """

    finess: None | str
    number: int
    role: str
    siret: None | str
    structure_name: str

    def to_dict(self) -> dict[str, Any]:
        finess: None | str
        finess = self.finess

        number = self.number

        role = self.role

        siret: None | str
        siret = self.siret

        structure_name = self.structure_name

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "finess": finess,
                "number": number,
                "role": role,
                "siret": siret,
                "structure_name": structure_name,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_finess(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        finess = _parse_finess(d.pop("finess"))

        number = d.pop("number")

        role = d.pop("role")

        def _parse_siret(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        siret = _parse_siret(d.pop("siret"))

        structure_name = d.pop("structure_name")

        situation_model = cls(
            finess=finess,
            number=number,
            role=role,
            siret=siret,
            structure_name=structure_name,
        )

        return situation_model
