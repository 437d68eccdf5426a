from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="OperatorModel")


@_attrs_define
class OperatorModel:
    """
    Attributes:
        id (str): National id of the professional (8 + RPPS)
        name (str):
        profession (str): TRE_G15 profession code (21 pharmacist)
        cnop_section (None | str | Unset): TRE_G05 CNOP section (pharmacists)
    """

    id: str
    name: str
    profession: str
    cnop_section: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        profession = self.profession

        cnop_section: None | str | Unset
        if isinstance(self.cnop_section, Unset):
            cnop_section = UNSET
        else:
            cnop_section = self.cnop_section

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "name": name,
                "profession": profession,
            }
        )
        if cnop_section is not UNSET:
            field_dict["cnop_section"] = cnop_section

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        profession = d.pop("profession")

        def _parse_cnop_section(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        cnop_section = _parse_cnop_section(d.pop("cnop_section", UNSET))

        operator_model = cls(
            id=id,
            name=name,
            profession=profession,
            cnop_section=cnop_section,
        )

        return operator_model
