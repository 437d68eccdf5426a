from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ApcvSignRequest")


@_attrs_define
class ApcvSignRequest:
    """
    Attributes:
        cps_reader (str): The reader holding the unlocked CPS
        donnee_dre (str): SHA-256 of the DRE, hex
        donnee_fse (str): SHA-256 of the FSE, hex
        montant_total_cents (int):
        nir_assure (str): The insured's NIR (13 + key) from the ApCV read
        numero_facture (str): 1-9 digits
    """

    cps_reader: str
    donnee_dre: str
    donnee_fse: str
    montant_total_cents: int
    nir_assure: str
    numero_facture: str

    def to_dict(self) -> dict[str, Any]:
        cps_reader = self.cps_reader

        donnee_dre = self.donnee_dre

        donnee_fse = self.donnee_fse

        montant_total_cents = self.montant_total_cents

        nir_assure = self.nir_assure

        numero_facture = self.numero_facture

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "cps_reader": cps_reader,
                "donnee_dre": donnee_dre,
                "donnee_fse": donnee_fse,
                "montant_total_cents": montant_total_cents,
                "nir_assure": nir_assure,
                "numero_facture": numero_facture,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        cps_reader = d.pop("cps_reader")

        donnee_dre = d.pop("donnee_dre")

        donnee_fse = d.pop("donnee_fse")

        montant_total_cents = d.pop("montant_total_cents")

        nir_assure = d.pop("nir_assure")

        numero_facture = d.pop("numero_facture")

        apcv_sign_request = cls(
            cps_reader=cps_reader,
            donnee_dre=donnee_dre,
            donnee_fse=donnee_fse,
            montant_total_cents=montant_total_cents,
            nir_assure=nir_assure,
            numero_facture=numero_facture,
        )

        return apcv_sign_request
