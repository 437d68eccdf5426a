from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.cps_reader_model_pin import CpsReaderModelPin

if TYPE_CHECKING:
    from ..models.lease_model import LeaseModel


T = TypeVar("T", bound="CpsReaderModel")


@_attrs_define
class CpsReaderModel:
    """
    Attributes:
        lease (LeaseModel): A CPS's unlock lease; every field but ``unlocked`` is null while the card is locked.
        pin (CpsReaderModelPin): ``unlocked``: a lease is open; ``blocked``: the PIN try counter is at 0 (three wrong
            PINs), nothing that needs the PIN works until the holder unblocks the card with its PUK; ``locked``: otherwise
            (unlock with the PIN). Blocked is known once the box has read the card's try counter since it went in (any
            unlock, sign or tries-left on it does).
        reader (str):
        tries_left (int | None): PIN tries left as last read from this card; null when the box has not read them since
            the card went in
    """

    lease: LeaseModel
    pin: CpsReaderModelPin
    reader: str
    tries_left: int | None

    def to_dict(self) -> dict[str, Any]:
        lease = self.lease.to_dict()

        pin = self.pin.value

        reader = self.reader

        tries_left: int | None
        tries_left = self.tries_left

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "lease": lease,
                "pin": pin,
                "reader": reader,
                "tries_left": tries_left,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.lease_model import LeaseModel

        d = dict(src_dict)
        lease = LeaseModel.from_dict(d.pop("lease"))

        pin = CpsReaderModelPin(d.pop("pin"))

        reader = d.pop("reader")

        def _parse_tries_left(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        tries_left = _parse_tries_left(d.pop("tries_left"))

        cps_reader_model = cls(
            lease=lease,
            pin=pin,
            reader=reader,
            tries_left=tries_left,
        )

        return cps_reader_model
