from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="AmcContractModel")


@_attrs_define
class AmcContractModel:
    """
    Attributes:
        adherent (None | str):
        end (datetime.date | None):
        name (str):
        organisme (str):
        start (datetime.date):
    """

    adherent: None | str
    end: datetime.date | None
    name: str
    organisme: str
    start: datetime.date

    def to_dict(self) -> dict[str, Any]:
        adherent: None | str
        adherent = self.adherent

        end: None | str
        if isinstance(self.end, datetime.date):
            end = self.end.isoformat()
        else:
            end = self.end

        name = self.name

        organisme = self.organisme

        start = self.start.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "adherent": adherent,
                "end": end,
                "name": name,
                "organisme": organisme,
                "start": start,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_adherent(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        adherent = _parse_adherent(d.pop("adherent"))

        def _parse_end(data: object) -> datetime.date | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                end_type_0 = datetime.date.fromisoformat(data)

                return end_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None, data)

        end = _parse_end(d.pop("end"))

        name = d.pop("name")

        organisme = d.pop("organisme")

        start = datetime.date.fromisoformat(d.pop("start"))

        amc_contract_model = cls(
            adherent=adherent,
            end=end,
            name=name,
            organisme=organisme,
            start=start,
        )

        return amc_contract_model
