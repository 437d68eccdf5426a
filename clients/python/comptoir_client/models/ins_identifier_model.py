from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="InsIdentifierModel")


@_attrs_define
class InsIdentifierModel:
    """
    Attributes:
        cle (str):
        date_debut (None | str):
        date_fin (None | str):
        ins (str): 15 characters: matricule and key
        kind (str): NIR, NIA, NIR (test), NIA (test)
        matricule (str):
        oid (str):
    """

    cle: str
    date_debut: None | str
    date_fin: None | str
    ins: str
    kind: str
    matricule: str
    oid: str

    def to_dict(self) -> dict[str, Any]:
        cle = self.cle

        date_debut: None | str
        date_debut = self.date_debut

        date_fin: None | str
        date_fin = self.date_fin

        ins = self.ins

        kind = self.kind

        matricule = self.matricule

        oid = self.oid

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "cle": cle,
                "date_debut": date_debut,
                "date_fin": date_fin,
                "ins": ins,
                "kind": kind,
                "matricule": matricule,
                "oid": oid,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        cle = d.pop("cle")

        def _parse_date_debut(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        date_debut = _parse_date_debut(d.pop("date_debut"))

        def _parse_date_fin(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        date_fin = _parse_date_fin(d.pop("date_fin"))

        ins = d.pop("ins")

        kind = d.pop("kind")

        matricule = d.pop("matricule")

        oid = d.pop("oid")

        ins_identifier_model = cls(
            cle=cle,
            date_debut=date_debut,
            date_fin=date_fin,
            ins=ins,
            kind=kind,
            matricule=matricule,
            oid=oid,
        )

        return ins_identifier_model
