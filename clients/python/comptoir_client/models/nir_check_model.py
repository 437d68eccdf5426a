from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="NirCheckModel")


@_attrs_define
class NirCheckModel:
    """
    Attributes:
        problem (None | str): Why the NIR does not check, for the LGO to flag
        text (str): The NIR as read (13 characters + key)
        valid (bool):
    """

    problem: None | str
    text: str
    valid: bool

    def to_dict(self) -> dict[str, Any]:
        problem: None | str
        problem = self.problem

        text = self.text

        valid = self.valid

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "problem": problem,
                "text": text,
                "valid": valid,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_problem(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        problem = _parse_problem(d.pop("problem"))

        text = d.pop("text")

        valid = d.pop("valid")

        nir_check_model = cls(
            problem=problem,
            text=text,
            valid=valid,
        )

        return nir_check_model
