from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.role import Role
from ..types import UNSET, Unset

T = TypeVar("T", bound="PairingRequest")


@_attrs_define
class PairingRequest:
    """
    Attributes:
        name (str): Client name, e.g. 'Comptoir 2'
        role (Role | Unset):
        ttl_s (int | Unset): Code lifetime in seconds Default: 600.
    """

    name: str
    role: Role | Unset = UNSET
    ttl_s: int | Unset = 600

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        role: str | Unset = UNSET
        if not isinstance(self.role, Unset):
            role = self.role.value

        ttl_s = self.ttl_s

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
            }
        )
        if role is not UNSET:
            field_dict["role"] = role
        if ttl_s is not UNSET:
            field_dict["ttl_s"] = ttl_s

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        _role = d.pop("role", UNSET)
        role: Role | Unset
        if isinstance(_role, Unset):
            role = UNSET
        else:
            role = Role(_role)

        ttl_s = d.pop("ttl_s", UNSET)

        pairing_request = cls(
            name=name,
            role=role,
            ttl_s=ttl_s,
        )

        return pairing_request
