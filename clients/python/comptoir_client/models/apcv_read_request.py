from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ApcvReadRequest")


@_attrs_define
class ApcvReadRequest:
    """Exactly one of ``scan_id`` (a QR scanned at this counter) or ``nfc_reader`` (a phone
    laid on that contactless reader).

        Attributes:
            cps_reader (str): The reader holding the unlocked CPS to sign with
            nfc_reader (None | str | Unset): A contactless reader with the phone on it
            scan_id (int | None | Unset): An ApCV scan of this counter
    """

    cps_reader: str
    nfc_reader: None | str | Unset = UNSET
    scan_id: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        cps_reader = self.cps_reader

        nfc_reader: None | str | Unset
        if isinstance(self.nfc_reader, Unset):
            nfc_reader = UNSET
        else:
            nfc_reader = self.nfc_reader

        scan_id: int | None | Unset
        if isinstance(self.scan_id, Unset):
            scan_id = UNSET
        else:
            scan_id = self.scan_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "cps_reader": cps_reader,
            }
        )
        if nfc_reader is not UNSET:
            field_dict["nfc_reader"] = nfc_reader
        if scan_id is not UNSET:
            field_dict["scan_id"] = scan_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        cps_reader = d.pop("cps_reader")

        def _parse_nfc_reader(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        nfc_reader = _parse_nfc_reader(d.pop("nfc_reader", UNSET))

        def _parse_scan_id(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        scan_id = _parse_scan_id(d.pop("scan_id", UNSET))

        apcv_read_request = cls(
            cps_reader=cps_reader,
            nfc_reader=nfc_reader,
            scan_id=scan_id,
        )

        return apcv_read_request
