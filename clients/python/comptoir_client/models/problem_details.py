from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.field_issue import FieldIssue


T = TypeVar("T", bound="ProblemDetails")


@_attrs_define
class ProblemDetails:
    """RFC 9457 problem details, answered as ``application/problem+json`` for every error.

    Attributes:
        detail (str): For people; never contains a PIN or submitted values
        instance (str): The request path
        status (int):
        title (str):
        type_ (str): Stable URI, ``urn:comptoir:problem:<slug>``: switch on it
        errors (list[FieldIssue] | None | Unset): Validation problems only
        service_codes (list[str] | None | Unset): The national service's fault codes (apcv-refused only)
        tries_left (int | None | Unset): PIN tries left (PIN problems only)
    """

    detail: str
    instance: str
    status: int
    title: str
    type_: str
    errors: list[FieldIssue] | None | Unset = UNSET
    service_codes: list[str] | None | Unset = UNSET
    tries_left: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        detail = self.detail

        instance = self.instance

        status = self.status

        title = self.title

        type_ = self.type_

        errors: list[dict[str, Any]] | None | Unset
        if isinstance(self.errors, Unset):
            errors = UNSET
        elif isinstance(self.errors, list):
            errors = []
            for errors_type_0_item_data in self.errors:
                errors_type_0_item = errors_type_0_item_data.to_dict()
                errors.append(errors_type_0_item)

        else:
            errors = self.errors

        service_codes: list[str] | None | Unset
        if isinstance(self.service_codes, Unset):
            service_codes = UNSET
        elif isinstance(self.service_codes, list):
            service_codes = self.service_codes

        else:
            service_codes = self.service_codes

        tries_left: int | None | Unset
        if isinstance(self.tries_left, Unset):
            tries_left = UNSET
        else:
            tries_left = self.tries_left

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "detail": detail,
                "instance": instance,
                "status": status,
                "title": title,
                "type": type_,
            }
        )
        if errors is not UNSET:
            field_dict["errors"] = errors
        if service_codes is not UNSET:
            field_dict["service_codes"] = service_codes
        if tries_left is not UNSET:
            field_dict["tries_left"] = tries_left

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.field_issue import FieldIssue

        d = dict(src_dict)
        detail = d.pop("detail")

        instance = d.pop("instance")

        status = d.pop("status")

        title = d.pop("title")

        type_ = d.pop("type")

        def _parse_errors(data: object) -> list[FieldIssue] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                errors_type_0 = []
                _errors_type_0 = data
                for errors_type_0_item_data in _errors_type_0:
                    errors_type_0_item = FieldIssue.from_dict(errors_type_0_item_data)

                    errors_type_0.append(errors_type_0_item)

                return errors_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[FieldIssue] | None | Unset, data)

        errors = _parse_errors(d.pop("errors", UNSET))

        def _parse_service_codes(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                service_codes_type_0 = cast(list[str], data)

                return service_codes_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        service_codes = _parse_service_codes(d.pop("service_codes", UNSET))

        def _parse_tries_left(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        tries_left = _parse_tries_left(d.pop("tries_left", UNSET))

        problem_details = cls(
            detail=detail,
            instance=instance,
            status=status,
            title=title,
            type_=type_,
            errors=errors,
            service_codes=service_codes,
            tries_left=tries_left,
        )

        return problem_details
