from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ApcvSignatureModel")


@_attrs_define
class ApcvSignatureModel:
    """
    Attributes:
        certificate_pem (str): The GIE's signing certificate, as sent back
        context_id (str):
        signature_b64 (str):
    """

    certificate_pem: str
    context_id: str
    signature_b64: str

    def to_dict(self) -> dict[str, Any]:
        certificate_pem = self.certificate_pem

        context_id = self.context_id

        signature_b64 = self.signature_b64

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "certificate_pem": certificate_pem,
                "context_id": context_id,
                "signature_b64": signature_b64,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        certificate_pem = d.pop("certificate_pem")

        context_id = d.pop("context_id")

        signature_b64 = d.pop("signature_b64")

        apcv_signature_model = cls(
            certificate_pem=certificate_pem,
            context_id=context_id,
            signature_b64=signature_b64,
        )

        return apcv_signature_model
