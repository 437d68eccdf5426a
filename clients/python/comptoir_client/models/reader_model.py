from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.reader_model_card_kind_type_0 import ReaderModelCardKindType0

T = TypeVar("T", bound="ReaderModel")


@_attrs_define
class ReaderModel:
    """
    Attributes:
        atr (None | str): ATR of the card, upper-case hex
        card_kind (None | ReaderModelCardKindType0):
        card_present (bool):
        name (str):
        since (datetime.datetime | None): When the card last went in or out
    """

    atr: None | str
    card_kind: None | ReaderModelCardKindType0
    card_present: bool
    name: str
    since: datetime.datetime | None

    def to_dict(self) -> dict[str, Any]:
        atr: None | str
        atr = self.atr

        card_kind: None | str
        if isinstance(self.card_kind, ReaderModelCardKindType0):
            card_kind = self.card_kind.value
        else:
            card_kind = self.card_kind

        card_present = self.card_present

        name = self.name

        since: None | str
        if isinstance(self.since, datetime.datetime):
            since = self.since.isoformat()
        else:
            since = self.since

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "atr": atr,
                "card_kind": card_kind,
                "card_present": card_present,
                "name": name,
                "since": since,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_atr(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        atr = _parse_atr(d.pop("atr"))

        def _parse_card_kind(data: object) -> None | ReaderModelCardKindType0:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                card_kind_type_0 = ReaderModelCardKindType0(data)

                return card_kind_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ReaderModelCardKindType0, data)

        card_kind = _parse_card_kind(d.pop("card_kind"))

        card_present = d.pop("card_present")

        name = d.pop("name")

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

        reader_model = cls(
            atr=atr,
            card_kind=card_kind,
            card_present=card_present,
            name=name,
            since=since,
        )

        return reader_model
