from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.pairing_code_model_role import PairingCodeModelRole

T = TypeVar("T", bound="PairingCodeModel")


@_attrs_define
class PairingCodeModel:
    """
    Attributes:
        code (str): One-time code, to type on the new client
        name (str):
        role (PairingCodeModelRole):
        ttl_s (int):
    """

    code: str
    name: str
    role: PairingCodeModelRole
    ttl_s: int

    def to_dict(self) -> dict[str, Any]:
        code = self.code

        name = self.name

        role = self.role.value

        ttl_s = self.ttl_s

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "code": code,
                "name": name,
                "role": role,
                "ttl_s": ttl_s,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        code = d.pop("code")

        name = d.pop("name")

        role = PairingCodeModelRole(d.pop("role"))

        ttl_s = d.pop("ttl_s")

        pairing_code_model = cls(
            code=code,
            name=name,
            role=role,
            ttl_s=ttl_s,
        )

        return pairing_code_model
