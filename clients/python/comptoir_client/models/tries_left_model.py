from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="TriesLeftModel")


@_attrs_define
class TriesLeftModel:
    """
    Attributes:
        tries_left (int):
    """

    tries_left: int

    def to_dict(self) -> dict[str, Any]:
        tries_left = self.tries_left

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "tries_left": tries_left,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        tries_left = d.pop("tries_left")

        tries_left_model = cls(
            tries_left=tries_left,
        )

        return tries_left_model
