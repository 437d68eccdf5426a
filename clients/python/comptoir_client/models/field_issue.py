from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="FieldIssue")


@_attrs_define
class FieldIssue:
    """
    Attributes:
        loc (list[str]): Where in the request (body, query, path, header)
        msg (str):
    """

    loc: list[str]
    msg: str

    def to_dict(self) -> dict[str, Any]:
        loc = self.loc

        msg = self.msg

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "loc": loc,
                "msg": msg,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        loc = cast(list[str], d.pop("loc"))

        msg = d.pop("msg")

        field_issue = cls(
            loc=loc,
            msg=msg,
        )

        return field_issue
