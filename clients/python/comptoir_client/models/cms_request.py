from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CmsRequest")


@_attrs_define
class CmsRequest:
    """
    Attributes:
        data_b64 (str): Content to sign detached (≤ 1 MiB), base64
        key (str | Unset): Store key: org-sign or org-auth-cli Default: 'org-sign'.
    """

    data_b64: str
    key: str | Unset = "org-sign"

    def to_dict(self) -> dict[str, Any]:
        data_b64 = self.data_b64

        key = self.key

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "data_b64": data_b64,
            }
        )
        if key is not UNSET:
            field_dict["key"] = key

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        data_b64 = d.pop("data_b64")

        key = d.pop("key", UNSET)

        cms_request = cls(
            data_b64=data_b64,
            key=key,
        )

        return cms_request
