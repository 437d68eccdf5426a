from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.scan_event_model_type import ScanEventModelType

if TYPE_CHECKING:
    from ..models.guard_alert_model import GuardAlertModel
    from ..models.scan_model import ScanModel


T = TypeVar("T", bound="ScanEventModel")


@_attrs_define
class ScanEventModel:
    """One event of a counter's stream; ids increase across the whole box.

    Attributes:
        alert (GuardAlertModel | None):
        at (datetime.datetime):  Example: 2026-11-25T19:00:00Z.
        counter (str):
        detail (None | str): device: connected/disconnected; closed: outcome:prescription
        id (int):
        scan (None | ScanModel):
        source (str): The scanner, camera or image poster
        type_ (ScanEventModelType):
    """

    alert: GuardAlertModel | None
    at: datetime.datetime
    counter: str
    detail: None | str
    id: int
    scan: None | ScanModel
    source: str
    type_: ScanEventModelType

    def to_dict(self) -> dict[str, Any]:
        from ..models.guard_alert_model import GuardAlertModel
        from ..models.scan_model import ScanModel

        alert: dict[str, Any] | None
        if isinstance(self.alert, GuardAlertModel):
            alert = self.alert.to_dict()
        else:
            alert = self.alert

        at = self.at.isoformat()

        counter = self.counter

        detail: None | str
        detail = self.detail

        id = self.id

        scan: dict[str, Any] | None
        if isinstance(self.scan, ScanModel):
            scan = self.scan.to_dict()
        else:
            scan = self.scan

        source = self.source

        type_ = self.type_.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "alert": alert,
                "at": at,
                "counter": counter,
                "detail": detail,
                "id": id,
                "scan": scan,
                "source": source,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.guard_alert_model import GuardAlertModel
        from ..models.scan_model import ScanModel

        d = dict(src_dict)

        def _parse_alert(data: object) -> GuardAlertModel | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                alert_type_0 = GuardAlertModel.from_dict(data)

                return alert_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(GuardAlertModel | None, data)

        alert = _parse_alert(d.pop("alert"))

        at = datetime.datetime.fromisoformat(d.pop("at"))

        counter = d.pop("counter")

        def _parse_detail(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        detail = _parse_detail(d.pop("detail"))

        id = d.pop("id")

        def _parse_scan(data: object) -> None | ScanModel:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                scan_type_0 = ScanModel.from_dict(data)

                return scan_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ScanModel, data)

        scan = _parse_scan(d.pop("scan"))

        source = d.pop("source")

        type_ = ScanEventModelType(d.pop("type"))

        scan_event_model = cls(
            alert=alert,
            at=at,
            counter=counter,
            detail=detail,
            id=id,
            scan=scan,
            source=source,
            type_=type_,
        )

        return scan_event_model
