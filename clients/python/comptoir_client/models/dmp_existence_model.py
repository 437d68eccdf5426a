from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="DmpExistenceModel")


@_attrs_define
class DmpExistenceModel:
    """
    Attributes:
        authorization (None | str):
        dmp_status (None | str):
        found (bool):
        ins (str):
        patient_status (None | str):
    """

    authorization: None | str
    dmp_status: None | str
    found: bool
    ins: str
    patient_status: None | str

    def to_dict(self) -> dict[str, Any]:
        authorization: None | str
        authorization = self.authorization

        dmp_status: None | str
        dmp_status = self.dmp_status

        found = self.found

        ins = self.ins

        patient_status: None | str
        patient_status = self.patient_status

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "authorization": authorization,
                "dmp_status": dmp_status,
                "found": found,
                "ins": ins,
                "patient_status": patient_status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_authorization(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        authorization = _parse_authorization(d.pop("authorization"))

        def _parse_dmp_status(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        dmp_status = _parse_dmp_status(d.pop("dmp_status"))

        found = d.pop("found")

        ins = d.pop("ins")

        def _parse_patient_status(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        patient_status = _parse_patient_status(d.pop("patient_status"))

        dmp_existence_model = cls(
            authorization=authorization,
            dmp_status=dmp_status,
            found=found,
            ins=ins,
            patient_status=patient_status,
        )

        return dmp_existence_model
