from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.key_role import KeyRole
from ..types import UNSET, Unset

T = TypeVar("T", bound="SignRequest")


@_attrs_define
class SignRequest:
    """
    Attributes:
        key (KeyRole): The two CPS keys: authentication (ref 0x82) and non-repudiation signature (ref 0x81).
        data_b64 (None | str | Unset): Data to hash and sign (≤ 1 MiB), base64
        digest_b64 (None | str | Unset): SHA-256 digest (32 bytes), base64
    """

    key: KeyRole
    data_b64: None | str | Unset = UNSET
    digest_b64: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        key = self.key.value

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

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "key": key,
            }
        )
        if data_b64 is not UNSET:
            field_dict["data_b64"] = data_b64
        if digest_b64 is not UNSET:
            field_dict["digest_b64"] = digest_b64

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        key = KeyRole(d.pop("key"))

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

        sign_request = cls(
            key=key,
            data_b64=data_b64,
            digest_b64=digest_b64,
        )

        return sign_request
