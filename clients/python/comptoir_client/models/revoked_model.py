from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="RevokedModel")


@_attrs_define
class RevokedModel:
    """
    Attributes:
        name (str):
        revoked (bool):
    """

    name: str
    revoked: bool

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        revoked = self.revoked

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
                "revoked": revoked,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        revoked = d.pop("revoked")

        revoked_model = cls(
            name=name,
            revoked=revoked,
        )

        return revoked_model
