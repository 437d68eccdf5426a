from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.certificate_model_key import CertificateModelKey

T = TypeVar("T", bound="CertificateModel")


@_attrs_define
class CertificateModel:
    """
    Attributes:
        certificate_pem (str):
        key (CertificateModelKey):
    """

    certificate_pem: str
    key: CertificateModelKey

    def to_dict(self) -> dict[str, Any]:
        certificate_pem = self.certificate_pem

        key = self.key.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "certificate_pem": certificate_pem,
                "key": key,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        certificate_pem = d.pop("certificate_pem")

        key = CertificateModelKey(d.pop("key"))

        certificate_model = cls(
            certificate_pem=certificate_pem,
            key=key,
        )

        return certificate_model
