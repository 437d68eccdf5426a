from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.scan_model_kind import ScanModelKind

T = TypeVar("T", bound="ScanModel")


@_attrs_define
class ScanModel:
    """
    Attributes:
        kind (ScanModelKind):
        prescription_id (None | str): The ordonnance's prescription number
        reason (None | str): Why unknown: no-rule, not-utf8, too-long, outside-frame, cut
        text (str): The raw text as read; for unreadable bytes, their hex
    """

    kind: ScanModelKind
    prescription_id: None | str
    reason: None | str
    text: str

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind.value

        prescription_id: None | str
        prescription_id = self.prescription_id

        reason: None | str
        reason = self.reason

        text = self.text

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "prescription_id": prescription_id,
                "reason": reason,
                "text": text,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        kind = ScanModelKind(d.pop("kind"))

        def _parse_prescription_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        prescription_id = _parse_prescription_id(d.pop("prescription_id"))

        def _parse_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        reason = _parse_reason(d.pop("reason"))

        text = d.pop("text")

        scan_model = cls(
            kind=kind,
            prescription_id=prescription_id,
            reason=reason,
            text=text,
        )

        return scan_model
