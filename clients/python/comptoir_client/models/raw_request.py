from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="RawRequest")


@_attrs_define
class RawRequest:
    """
    Attributes:
        data_b64 (None | str | Unset): Data (≤ 1 MiB), base64
        digest_b64 (None | str | Unset): SHA-256 digest, base64
        key (str | Unset): Store key: org-sign or org-auth-cli Default: 'org-sign'.
    """

    data_b64: None | str | Unset = UNSET
    digest_b64: None | str | Unset = UNSET
    key: str | Unset = "org-sign"

    def to_dict(self) -> dict[str, Any]:
        data_b64: None | str | Unset
        if isinstance(self.data_b64, Unset):
            data_b64 = UNSET
        else:
            data_b64 = self.data_b64

        digest_b64: None | str | Unset
        if isinstance(self.digest_b64, Unset):
            digest_b64 = UNSET
        else:
            digest_b64 = self.digest_b64

        key = self.key

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if data_b64 is not UNSET:
            field_dict["data_b64"] = data_b64
        if digest_b64 is not UNSET:
            field_dict["digest_b64"] = digest_b64
        if key is not UNSET:
            field_dict["key"] = key

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_data_b64(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        data_b64 = _parse_data_b64(d.pop("data_b64", UNSET))

        def _parse_digest_b64(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        digest_b64 = _parse_digest_b64(d.pop("digest_b64", UNSET))

        key = d.pop("key", UNSET)

        raw_request = cls(
            data_b64=data_b64,
            digest_b64=digest_b64,
            key=key,
        )

        return raw_request
