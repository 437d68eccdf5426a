from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.reader_status_model_card_kind_type_0 import ReaderStatusModelCardKindType0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.lease_model import LeaseModel
    from ..models.queue_model import QueueModel


T = TypeVar("T", bound="ReaderStatusModel")


@_attrs_define
class ReaderStatusModel:
    """
    Attributes:
        atr (None | str): ATR of the card, upper-case hex
        card_kind (None | ReaderStatusModelCardKindType0):
        card_present (bool):
        name (str):
        queue (QueueModel):
        since (datetime.datetime | None): When the card last went in or out
        lease (LeaseModel | None | Unset): CPS readers only
    """

    atr: None | str
    card_kind: None | ReaderStatusModelCardKindType0
    card_present: bool
    name: str
    queue: QueueModel
    since: datetime.datetime | None
    lease: LeaseModel | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.lease_model import LeaseModel

        atr: None | str
        atr = self.atr

        card_kind: None | str
        if isinstance(self.card_kind, ReaderStatusModelCardKindType0):
            card_kind = self.card_kind.value
        else:
            card_kind = self.card_kind

        card_present = self.card_present

        name = self.name

        queue = self.queue.to_dict()

        since: None | str
        if isinstance(self.since, datetime.datetime):
            since = self.since.isoformat()
        else:
            since = self.since

        lease: dict[str, Any] | None | Unset
        if isinstance(self.lease, Unset):
            lease = UNSET
        elif isinstance(self.lease, LeaseModel):
            lease = self.lease.to_dict()
        else:
            lease = self.lease

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "atr": atr,
                "card_kind": card_kind,
                "card_present": card_present,
                "name": name,
                "queue": queue,
                "since": since,
            }
        )
        if lease is not UNSET:
            field_dict["lease"] = lease

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.lease_model import LeaseModel
        from ..models.queue_model import QueueModel

        d = dict(src_dict)

        def _parse_atr(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        atr = _parse_atr(d.pop("atr"))

        def _parse_card_kind(data: object) -> None | ReaderStatusModelCardKindType0:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                card_kind_type_0 = ReaderStatusModelCardKindType0(data)

                return card_kind_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ReaderStatusModelCardKindType0, data)

        card_kind = _parse_card_kind(d.pop("card_kind"))

        card_present = d.pop("card_present")

        name = d.pop("name")

        queue = QueueModel.from_dict(d.pop("queue"))

        def _parse_since(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                since_type_0 = datetime.datetime.fromisoformat(data)

                return since_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        since = _parse_since(d.pop("since"))

        def _parse_lease(data: object) -> LeaseModel | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                lease_type_0 = LeaseModel.from_dict(data)

                return lease_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LeaseModel | None | Unset, data)

        lease = _parse_lease(d.pop("lease", UNSET))

        reader_status_model = cls(
            atr=atr,
            card_kind=card_kind,
            card_present=card_present,
            name=name,
            queue=queue,
            since=since,
            lease=lease,
        )

        return reader_status_model
