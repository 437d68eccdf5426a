from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
    Self,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define

T = TypeVar("T", bound="SignatureModel")


@_attrs_define
class SignatureModel:
    """
    Attributes:
        algorithm (Literal['RSASSA-PKCS1-v1_5-SHA256']):
        signature_b64 (str):
    """

    algorithm: Literal["RSASSA-PKCS1-v1_5-SHA256"]
    signature_b64: str

    def to_dict(self) -> dict[str, Any]:
        algorithm = self.algorithm

        signature_b64 = self.signature_b64

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "algorithm": algorithm,
                "signature_b64": signature_b64,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        algorithm = cast(Literal["RSASSA-PKCS1-v1_5-SHA256"], d.pop("algorithm"))
        if algorithm != "RSASSA-PKCS1-v1_5-SHA256":
            raise ValueError(
                f"algorithm must match const 'RSASSA-PKCS1-v1_5-SHA256', got '{algorithm}'"
            )

        signature_b64 = d.pop("signature_b64")

        signature_model = cls(
            algorithm=algorithm,
            signature_b64=signature_b64,
        )

        return signature_model
