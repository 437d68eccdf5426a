from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="CmsModel")


@_attrs_define
class CmsModel:
    """
    Attributes:
        cms_b64 (str): Detached CMS SignedData, DER, base64
    """

    cms_b64: str

    def to_dict(self) -> dict[str, Any]:
        cms_b64 = self.cms_b64

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "cms_b64": cms_b64,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        cms_b64 = d.pop("cms_b64")

        cms_model = cls(
            cms_b64=cms_b64,
        )

        return cms_model
