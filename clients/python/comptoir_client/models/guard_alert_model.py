from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.guard_alert_model_reason import GuardAlertModelReason

T = TypeVar("T", bound="GuardAlertModel")


@_attrs_define
class GuardAlertModel:
    """
    Attributes:
        counters (list[str]): Every counter this alert is sent to
        holder (str): The counter that holds the open dispensation
        opened_at (datetime.datetime):  Example: 2026-11-25T19:00:00Z.
        prescription_id (str):
        reason (GuardAlertModelReason):
        scanned_at (str): The counter whose scan raised the alert
    """

    counters: list[str]
    holder: str
    opened_at: datetime.datetime
    prescription_id: str
    reason: GuardAlertModelReason
    scanned_at: str

    def to_dict(self) -> dict[str, Any]:
        counters = self.counters

        holder = self.holder

        opened_at = self.opened_at.isoformat()

        prescription_id = self.prescription_id

        reason = self.reason.value

        scanned_at = self.scanned_at

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "counters": counters,
                "holder": holder,
                "opened_at": opened_at,
                "prescription_id": prescription_id,
                "reason": reason,
                "scanned_at": scanned_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        counters = cast(list[str], d.pop("counters"))

        holder = d.pop("holder")

        opened_at = datetime.datetime.fromisoformat(d.pop("opened_at"))

        prescription_id = d.pop("prescription_id")

        reason = GuardAlertModelReason(d.pop("reason"))

        scanned_at = d.pop("scanned_at")

        guard_alert_model = cls(
            counters=counters,
            holder=holder,
            opened_at=opened_at,
            prescription_id=prescription_id,
            reason=reason,
            scanned_at=scanned_at,
        )

        return guard_alert_model
