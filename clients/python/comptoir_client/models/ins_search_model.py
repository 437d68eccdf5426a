from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.ins_search_model_code import InsSearchModelCode
from ..models.ins_search_model_mode import InsSearchModelMode

if TYPE_CHECKING:
    from ..models.ins_identifier_model import InsIdentifierModel
    from ..models.ins_traits_model import InsTraitsModel


T = TypeVar("T", bound="InsSearchModel")


@_attrs_define
class InsSearchModel:
    """
    Attributes:
        calls (int): INSi calls made (one per first name, then the list)
        code (InsSearchModelCode): 00 found, 01 none, 02 several
        found (bool):
        history (list[InsIdentifierModel]):
        ins (InsIdentifierModel | None):
        label (str):
        mode (InsSearchModelMode):
        traits (InsTraitsModel | None):
    """

    calls: int
    code: InsSearchModelCode
    found: bool
    history: list[InsIdentifierModel]
    ins: InsIdentifierModel | None
    label: str
    mode: InsSearchModelMode
    traits: InsTraitsModel | None

    def to_dict(self) -> dict[str, Any]:
        from ..models.ins_identifier_model import InsIdentifierModel
        from ..models.ins_traits_model import InsTraitsModel

        calls = self.calls

        code = self.code.value

        found = self.found

        history = []
        for history_item_data in self.history:
            history_item = history_item_data.to_dict()
            history.append(history_item)

        ins: dict[str, Any] | None
        if isinstance(self.ins, InsIdentifierModel):
            ins = self.ins.to_dict()
        else:
            ins = self.ins

        label = self.label

        mode = self.mode.value

        traits: dict[str, Any] | None
        if isinstance(self.traits, InsTraitsModel):
            traits = self.traits.to_dict()
        else:
            traits = self.traits

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "calls": calls,
                "code": code,
                "found": found,
                "history": history,
                "ins": ins,
                "label": label,
                "mode": mode,
                "traits": traits,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.ins_identifier_model import InsIdentifierModel
        from ..models.ins_traits_model import InsTraitsModel

        d = dict(src_dict)
        calls = d.pop("calls")

        code = InsSearchModelCode(d.pop("code"))

        found = d.pop("found")

        history = []
        _history = d.pop("history")
        for history_item_data in _history:
            history_item = InsIdentifierModel.from_dict(history_item_data)

            history.append(history_item)

        def _parse_ins(data: object) -> InsIdentifierModel | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                ins_type_0 = InsIdentifierModel.from_dict(data)

                return ins_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(InsIdentifierModel | None, data)

        ins = _parse_ins(d.pop("ins"))

        label = d.pop("label")

        mode = InsSearchModelMode(d.pop("mode"))

        def _parse_traits(data: object) -> InsTraitsModel | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                traits_type_0 = InsTraitsModel.from_dict(data)

                return traits_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(InsTraitsModel | None, data)

        traits = _parse_traits(d.pop("traits"))

        ins_search_model = cls(
            calls=calls,
            code=code,
            found=found,
            history=history,
            ins=ins,
            label=label,
            mode=mode,
            traits=traits,
        )

        return ins_search_model
