from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="XmlModel")


@_attrs_define
class XmlModel:
    """
    Attributes:
        xml (str): The signed XML document
    """

    xml: str

    def to_dict(self) -> dict[str, Any]:
        xml = self.xml

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "xml": xml,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        xml = d.pop("xml")

        xml_model = cls(
            xml=xml,
        )

        return xml_model
