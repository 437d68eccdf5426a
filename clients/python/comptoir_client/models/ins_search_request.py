from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.ins_search_request_mode_type_0 import InsSearchRequestModeType0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.traits_request import TraitsRequest
    from ..models.vitale_beneficiary import VitaleBeneficiary


T = TypeVar("T", bound="InsSearchRequest")


@_attrs_define
class InsSearchRequest:
    """Exactly one of ``traits`` and ``vitale``.

    Attributes:
        cps_reader (None | str | Unset): CPx mode: the CPS reader, if several
        mode (InsSearchRequestModeType0 | None | Unset): certificate (the box's INSI-AUTO key) or cpx (assertion PS
            signed by the shared CPS); default from the configuration
        traits (None | TraitsRequest | Unset):
        vitale (None | Unset | VitaleBeneficiary):
    """

    cps_reader: None | str | Unset = UNSET
    mode: InsSearchRequestModeType0 | None | Unset = UNSET
    traits: None | TraitsRequest | Unset = UNSET
    vitale: None | Unset | VitaleBeneficiary = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.traits_request import TraitsRequest
        from ..models.vitale_beneficiary import VitaleBeneficiary

        cps_reader: None | str | Unset
        if isinstance(self.cps_reader, Unset):
            cps_reader = UNSET
        else:
            cps_reader = self.cps_reader

        mode: None | str | Unset
        if isinstance(self.mode, Unset):
            mode = UNSET
        elif isinstance(self.mode, InsSearchRequestModeType0):
            mode = self.mode.value
        else:
            mode = self.mode

        traits: dict[str, Any] | None | Unset
        if isinstance(self.traits, Unset):
            traits = UNSET
        elif isinstance(self.traits, TraitsRequest):
            traits = self.traits.to_dict()
        else:
            traits = self.traits

        vitale: dict[str, Any] | None | Unset
        if isinstance(self.vitale, Unset):
            vitale = UNSET
        elif isinstance(self.vitale, VitaleBeneficiary):
            vitale = self.vitale.to_dict()
        else:
            vitale = self.vitale

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if cps_reader is not UNSET:
            field_dict["cps_reader"] = cps_reader
        if mode is not UNSET:
            field_dict["mode"] = mode
        if traits is not UNSET:
            field_dict["traits"] = traits
        if vitale is not UNSET:
            field_dict["vitale"] = vitale

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.traits_request import TraitsRequest
        from ..models.vitale_beneficiary import VitaleBeneficiary

        d = dict(src_dict)

        def _parse_cps_reader(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        cps_reader = _parse_cps_reader(d.pop("cps_reader", UNSET))

        def _parse_mode(data: object) -> InsSearchRequestModeType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                mode_type_0 = InsSearchRequestModeType0(data)

                return mode_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(InsSearchRequestModeType0 | None | Unset, data)

        mode = _parse_mode(d.pop("mode", UNSET))

        def _parse_traits(data: object) -> None | TraitsRequest | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                traits_type_0 = TraitsRequest.from_dict(data)

                return traits_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TraitsRequest | Unset, data)

        traits = _parse_traits(d.pop("traits", UNSET))

        def _parse_vitale(data: object) -> None | Unset | VitaleBeneficiary:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                vitale_type_0 = VitaleBeneficiary.from_dict(data)

                return vitale_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | VitaleBeneficiary, data)

        vitale = _parse_vitale(d.pop("vitale", UNSET))

        ins_search_request = cls(
            cps_reader=cps_reader,
            mode=mode,
            traits=traits,
            vitale=vitale,
        )

        return ins_search_request
