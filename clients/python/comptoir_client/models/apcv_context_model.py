from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ApcvContextModel")


@_attrs_define
class ApcvContextModel:
    """
    Attributes:
        expires (datetime.datetime):  Example: 2026-11-25T19:00:00Z.
        id (str):
    """

    expires: datetime.datetime
    id: str

    def to_dict(self) -> dict[str, Any]:
        expires = self.expires.isoformat()

        id = self.id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "expires": expires,
                "id": id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        expires = datetime.datetime.fromisoformat(d.pop("expires"))

        id = d.pop("id")

        apcv_context_model = cls(
            expires=expires,
            id=id,
        )

        return apcv_context_model
