from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ApcvEndedModel")


@_attrs_define
class ApcvEndedModel:
    """
    Attributes:
        ended (bool):
        id (str):
    """

    ended: bool
    id: str

    def to_dict(self) -> dict[str, Any]:
        ended = self.ended

        id = self.id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "ended": ended,
                "id": id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        ended = d.pop("ended")

        id = d.pop("id")

        apcv_ended_model = cls(
            ended=ended,
            id=id,
        )

        return apcv_ended_model
