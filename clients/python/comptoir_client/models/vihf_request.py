from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.code_model import CodeModel


T = TypeVar("T", bound="VihfRequest")


@_attrs_define
class VihfRequest:
    """The VIHF fields (DOMAIN.md). Operator = the professional the assertion speaks for.

    Attributes:
        lps_homologation_id (str):
        lps_name (str):
        lps_version (str):
        operator_id (str):
        operator_name (str):
        patient_ins (str):
        profession (CodeModel):
        secteur_activite (str):
        structure_id (str):
        cnop_section (CodeModel | None | Unset):
        key (str | Unset): Store key: org-sign or org-auth-cli Default: 'org-sign'.
    """

    lps_homologation_id: str
    lps_name: str
    lps_version: str
    operator_id: str
    operator_name: str
    patient_ins: str
    profession: CodeModel
    secteur_activite: str
    structure_id: str
    cnop_section: CodeModel | None | Unset = UNSET
    key: str | Unset = "org-sign"

    def to_dict(self) -> dict[str, Any]:
        from ..models.code_model import CodeModel

        lps_homologation_id = self.lps_homologation_id

        lps_name = self.lps_name

        lps_version = self.lps_version

        operator_id = self.operator_id

        operator_name = self.operator_name

        patient_ins = self.patient_ins

        profession = self.profession.to_dict()

        secteur_activite = self.secteur_activite

        structure_id = self.structure_id

        cnop_section: dict[str, Any] | None | Unset
        if isinstance(self.cnop_section, Unset):
            cnop_section = UNSET
        elif isinstance(self.cnop_section, CodeModel):
            cnop_section = self.cnop_section.to_dict()
        else:
            cnop_section = self.cnop_section

        key = self.key

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "lps_homologation_id": lps_homologation_id,
                "lps_name": lps_name,
                "lps_version": lps_version,
                "operator_id": operator_id,
                "operator_name": operator_name,
                "patient_ins": patient_ins,
                "profession": profession,
                "secteur_activite": secteur_activite,
                "structure_id": structure_id,
            }
        )
        if cnop_section is not UNSET:
            field_dict["cnop_section"] = cnop_section
        if key is not UNSET:
            field_dict["key"] = key

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.code_model import CodeModel

        d = dict(src_dict)
        lps_homologation_id = d.pop("lps_homologation_id")

        lps_name = d.pop("lps_name")

        lps_version = d.pop("lps_version")

        operator_id = d.pop("operator_id")

        operator_name = d.pop("operator_name")

        patient_ins = d.pop("patient_ins")

        profession = CodeModel.from_dict(d.pop("profession"))

        secteur_activite = d.pop("secteur_activite")

        structure_id = d.pop("structure_id")

        def _parse_cnop_section(data: object) -> CodeModel | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                cnop_section_type_0 = CodeModel.from_dict(data)

                return cnop_section_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CodeModel | None | Unset, data)

        cnop_section = _parse_cnop_section(d.pop("cnop_section", UNSET))

        key = d.pop("key", UNSET)

        vihf_request = cls(
            lps_homologation_id=lps_homologation_id,
            lps_name=lps_name,
            lps_version=lps_version,
            operator_id=operator_id,
            operator_name=operator_name,
            patient_ins=patient_ins,
            profession=profession,
            secteur_activite=secteur_activite,
            structure_id=structure_id,
            cnop_section=cnop_section,
            key=key,
        )

        return vihf_request
