from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="SchemeModel")


@_attrs_define
class SchemeModel:
    """
    Attributes:
        caisse (str):
        centre (str):
        gestion (str):
        regime (str):
    """

    caisse: str
    centre: str
    gestion: str
    regime: str

    def to_dict(self) -> dict[str, Any]:
        caisse = self.caisse

        centre = self.centre

        gestion = self.gestion

        regime = self.regime

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "caisse": caisse,
                "centre": centre,
                "gestion": gestion,
                "regime": regime,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        caisse = d.pop("caisse")

        centre = d.pop("centre")

        gestion = d.pop("gestion")

        regime = d.pop("regime")

        scheme_model = cls(
            caisse=caisse,
            centre=centre,
            gestion=gestion,
            regime=regime,
        )

        return scheme_model
