from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="CertificateStatusModel")


@_attrs_define
class CertificateStatusModel:
    """
    Attributes:
        chain_state (str):
        days_left (int | None):
        not_after (datetime.datetime | None):
        renewal_pending (bool):
        slot (str):
        subject (None | str):
        title (str):
    """

    chain_state: str
    days_left: int | None
    not_after: datetime.datetime | None
    renewal_pending: bool
    slot: str
    subject: None | str
    title: str

    def to_dict(self) -> dict[str, Any]:
        chain_state = self.chain_state

        days_left: int | None
        days_left = self.days_left

        not_after: None | str
        if isinstance(self.not_after, datetime.datetime):
            not_after = self.not_after.isoformat()
        else:
            not_after = self.not_after

        renewal_pending = self.renewal_pending

        slot = self.slot

        subject: None | str
        subject = self.subject

        title = self.title

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "chain_state": chain_state,
                "days_left": days_left,
                "not_after": not_after,
                "renewal_pending": renewal_pending,
                "slot": slot,
                "subject": subject,
                "title": title,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        chain_state = d.pop("chain_state")

        def _parse_days_left(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        days_left = _parse_days_left(d.pop("days_left"))

        def _parse_not_after(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                not_after_type_0 = datetime.datetime.fromisoformat(data)

                return not_after_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        not_after = _parse_not_after(d.pop("not_after"))

        renewal_pending = d.pop("renewal_pending")

        slot = d.pop("slot")

        def _parse_subject(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        subject = _parse_subject(d.pop("subject"))

        title = d.pop("title")

        certificate_status_model = cls(
            chain_state=chain_state,
            days_left=days_left,
            not_after=not_after,
            renewal_pending=renewal_pending,
            slot=slot,
            subject=subject,
            title=title,
        )

        return certificate_status_model
