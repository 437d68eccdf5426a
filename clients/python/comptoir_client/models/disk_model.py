from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.disk_model_level import DiskModelLevel

T = TypeVar("T", bound="DiskModel")


@_attrs_define
class DiskModel:
    """
    Attributes:
        audit_bytes (int):
        budget_bytes (int):
        free_bytes (int):
        journal_bytes (int):
        level (DiskModelLevel):
        message (str):
        used_ratio (float):
    """

    audit_bytes: int
    budget_bytes: int
    free_bytes: int
    journal_bytes: int
    level: DiskModelLevel
    message: str
    used_ratio: float

    def to_dict(self) -> dict[str, Any]:
        audit_bytes = self.audit_bytes

        budget_bytes = self.budget_bytes

        free_bytes = self.free_bytes

        journal_bytes = self.journal_bytes

        level = self.level.value

        message = self.message

        used_ratio = self.used_ratio

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "audit_bytes": audit_bytes,
                "budget_bytes": budget_bytes,
                "free_bytes": free_bytes,
                "journal_bytes": journal_bytes,
                "level": level,
                "message": message,
                "used_ratio": used_ratio,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        audit_bytes = d.pop("audit_bytes")

        budget_bytes = d.pop("budget_bytes")

        free_bytes = d.pop("free_bytes")

        journal_bytes = d.pop("journal_bytes")

        level = DiskModelLevel(d.pop("level"))

        message = d.pop("message")

        used_ratio = d.pop("used_ratio")

        disk_model = cls(
            audit_bytes=audit_bytes,
            budget_bytes=budget_bytes,
            free_bytes=free_bytes,
            journal_bytes=journal_bytes,
            level=level,
            message=message,
            used_ratio=used_ratio,
        )

        return disk_model
