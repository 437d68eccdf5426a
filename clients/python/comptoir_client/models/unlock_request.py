from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="UnlockRequest")


@_attrs_define
class UnlockRequest:
    """Exactly one of ``terminal`` (the PIN is typed on that counter terminal's keypad; the
    counter PC learns only the outcome) or ``pin`` (only where ``[cps] api_pin = true``).

        Attributes:
            pin (None | str | Unset): The cardholder's PIN, 4 to 8 digits, when the box allows API PINs. Never logged; never
                spends the last try.
            terminal (None | str | Unset): Serial of this counter's terminal: the box prompts for the PIN there.
    """

    pin: None | str | Unset = UNSET
    terminal: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        pin: None | str | Unset
        if isinstance(self.pin, Unset):
            pin = UNSET
        else:
            pin = self.pin

        terminal: None | str | Unset
        if isinstance(self.terminal, Unset):
            terminal = UNSET
        else:
            terminal = self.terminal

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if pin is not UNSET:
            field_dict["pin"] = pin
        if terminal is not UNSET:
            field_dict["terminal"] = terminal

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_pin(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        pin = _parse_pin(d.pop("pin", UNSET))

        def _parse_terminal(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        terminal = _parse_terminal(d.pop("terminal", UNSET))

        unlock_request = cls(
            pin=pin,
            terminal=terminal,
        )

        return unlock_request
