from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="XmlRequest")


@_attrs_define
class XmlRequest:
    """
    Attributes:
        xml (str): XML document, signed enveloped
        key (str | Unset): Store key: org-sign or org-auth-cli Default: 'org-sign'.
    """

    xml: str
    key: str | Unset = "org-sign"

    def to_dict(self) -> dict[str, Any]:
        xml = self.xml

        key = self.key

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "xml": xml,
            }
        )
        if key is not UNSET:
            field_dict["key"] = key

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        xml = d.pop("xml")

        key = d.pop("key", UNSET)

        xml_request = cls(
            xml=xml,
            key=key,
        )

        return xml_request
