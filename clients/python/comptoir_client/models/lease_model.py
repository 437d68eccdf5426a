from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="LeaseModel")


@_attrs_define
class LeaseModel:
    """A CPS's unlock lease; every field but ``unlocked`` is null while the card is locked.

    Attributes:
        unlocked (bool):
        end_of_day (datetime.datetime | None | Unset): The lease ends here at the latest
        idle_seconds_left (float | None | Unset):
        operator (None | str | Unset):
        unlocked_at (datetime.datetime | None | Unset):
        unlocked_by (None | str | Unset): The client whose call opened the lease
    """

    unlocked: bool
    end_of_day: datetime.datetime | None | Unset = UNSET
    idle_seconds_left: float | None | Unset = UNSET
    operator: None | str | Unset = UNSET
    unlocked_at: datetime.datetime | None | Unset = UNSET
    unlocked_by: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        unlocked = self.unlocked

        end_of_day: None | str | Unset
        if isinstance(self.end_of_day, Unset):
            end_of_day = UNSET
        elif isinstance(self.end_of_day, datetime.datetime):
            end_of_day = self.end_of_day.isoformat()
        else:
            end_of_day = self.end_of_day

        idle_seconds_left: float | None | Unset
        if isinstance(self.idle_seconds_left, Unset):
            idle_seconds_left = UNSET
        else:
            idle_seconds_left = self.idle_seconds_left

        operator: None | str | Unset
        if isinstance(self.operator, Unset):
            operator = UNSET
        else:
            operator = self.operator

        unlocked_at: None | str | Unset
        if isinstance(self.unlocked_at, Unset):
            unlocked_at = UNSET
        elif isinstance(self.unlocked_at, datetime.datetime):
            unlocked_at = self.unlocked_at.isoformat()
        else:
            unlocked_at = self.unlocked_at

        unlocked_by: None | str | Unset
        if isinstance(self.unlocked_by, Unset):
            unlocked_by = UNSET
        else:
            unlocked_by = self.unlocked_by

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "unlocked": unlocked,
            }
        )
        if end_of_day is not UNSET:
            field_dict["end_of_day"] = end_of_day
        if idle_seconds_left is not UNSET:
            field_dict["idle_seconds_left"] = idle_seconds_left
        if operator is not UNSET:
            field_dict["operator"] = operator
        if unlocked_at is not UNSET:
            field_dict["unlocked_at"] = unlocked_at
        if unlocked_by is not UNSET:
            field_dict["unlocked_by"] = unlocked_by

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        unlocked = d.pop("unlocked")

        def _parse_end_of_day(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                end_of_day_type_0 = datetime.datetime.fromisoformat(data)

                return end_of_day_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        end_of_day = _parse_end_of_day(d.pop("end_of_day", UNSET))

        def _parse_idle_seconds_left(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        idle_seconds_left = _parse_idle_seconds_left(d.pop("idle_seconds_left", UNSET))

        def _parse_operator(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        operator = _parse_operator(d.pop("operator", UNSET))

        def _parse_unlocked_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                unlocked_at_type_0 = datetime.datetime.fromisoformat(data)

                return unlocked_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        unlocked_at = _parse_unlocked_at(d.pop("unlocked_at", UNSET))

        def _parse_unlocked_by(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        unlocked_by = _parse_unlocked_by(d.pop("unlocked_by", UNSET))

        lease_model = cls(
            unlocked=unlocked,
            end_of_day=end_of_day,
            idle_seconds_left=idle_seconds_left,
            operator=operator,
            unlocked_at=unlocked_at,
            unlocked_by=unlocked_by,
        )

        return lease_model
