from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="Percentiles")


@_attrs_define
class Percentiles:
    """
    Attributes:
        p50 (float):
        p99 (float):
    """

    p50: float
    p99: float

    def to_dict(self) -> dict[str, Any]:
        p50 = self.p50

        p99 = self.p99

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "p50": p50,
                "p99": p99,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        p50 = d.pop("p50")

        p99 = d.pop("p99")

        percentiles = cls(
            p50=p50,
            p99=p99,
        )

        return percentiles
