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

T = TypeVar("T", bound="StoreSignatureModel")


@_attrs_define
class StoreSignatureModel:
    """
    Attributes:
        algorithm (Literal['RSASSA-PKCS1-v1_5-SHA256']):
        certificate_pem (str): The signing key's certificate
        signature_b64 (str):
    """

    algorithm: Literal["RSASSA-PKCS1-v1_5-SHA256"]
    certificate_pem: str
    signature_b64: str

    def to_dict(self) -> dict[str, Any]:
        algorithm = self.algorithm

        certificate_pem = self.certificate_pem

        signature_b64 = self.signature_b64

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "algorithm": algorithm,
                "certificate_pem": certificate_pem,
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

        certificate_pem = d.pop("certificate_pem")

        signature_b64 = d.pop("signature_b64")

        store_signature_model = cls(
            algorithm=algorithm,
            certificate_pem=certificate_pem,
            signature_b64=signature_b64,
        )

        return store_signature_model
