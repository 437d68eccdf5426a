from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="DispensationModel")


@_attrs_define
class DispensationModel:
    """
    Attributes:
        alerts (int): Scans of it elsewhere or again while open
        counter (str):
        opened_at (datetime.datetime):  Example: 2026-11-25T19:00:00Z.
        prescription_id (str):
    """

    alerts: int
    counter: str
    opened_at: datetime.datetime
    prescription_id: str

    def to_dict(self) -> dict[str, Any]:
        alerts = self.alerts

        counter = self.counter

        opened_at = self.opened_at.isoformat()

        prescription_id = self.prescription_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "alerts": alerts,
                "counter": counter,
                "opened_at": opened_at,
                "prescription_id": prescription_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        alerts = d.pop("alerts")

        counter = d.pop("counter")

        opened_at = datetime.datetime.fromisoformat(d.pop("opened_at"))

        prescription_id = d.pop("prescription_id")

        dispensation_model = cls(
            alerts=alerts,
            counter=counter,
            opened_at=opened_at,
            prescription_id=prescription_id,
        )

        return dispensation_model
