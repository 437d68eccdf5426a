from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.audit_head_model import AuditHeadModel
    from ..models.certificate_status_model import CertificateStatusModel
    from ..models.disk_model import DiskModel
    from ..models.reader_status_model import ReaderStatusModel
    from ..models.terminal_status_model import TerminalStatusModel


T = TypeVar("T", bound="StatusModel")


@_attrs_define
class StatusModel:
    """
    Attributes:
        audit (AuditHeadModel):
        certificates (list[CertificateStatusModel]):
        disk (DiskModel):
        readers (list[ReaderStatusModel]):
        time (datetime.datetime):  Example: 2026-11-25T19:00:00Z.
        terminals (list[TerminalStatusModel] | Unset):
    """

    audit: AuditHeadModel
    certificates: list[CertificateStatusModel]
    disk: DiskModel
    readers: list[ReaderStatusModel]
    time: datetime.datetime
    terminals: list[TerminalStatusModel] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        audit = self.audit.to_dict()

        certificates = []
        for certificates_item_data in self.certificates:
            certificates_item = certificates_item_data.to_dict()
            certificates.append(certificates_item)

        disk = self.disk.to_dict()

        readers = []
        for readers_item_data in self.readers:
            readers_item = readers_item_data.to_dict()
            readers.append(readers_item)

        time = self.time.isoformat()

        terminals: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.terminals, Unset):
            terminals = []
            for terminals_item_data in self.terminals:
                terminals_item = terminals_item_data.to_dict()
                terminals.append(terminals_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "audit": audit,
                "certificates": certificates,
                "disk": disk,
                "readers": readers,
                "time": time,
            }
        )
        if terminals is not UNSET:
            field_dict["terminals"] = terminals

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.audit_head_model import AuditHeadModel
        from ..models.certificate_status_model import CertificateStatusModel
        from ..models.disk_model import DiskModel
        from ..models.reader_status_model import ReaderStatusModel
        from ..models.terminal_status_model import TerminalStatusModel

        d = dict(src_dict)
        audit = AuditHeadModel.from_dict(d.pop("audit"))

        certificates = []
        _certificates = d.pop("certificates")
        for certificates_item_data in _certificates:
            certificates_item = CertificateStatusModel.from_dict(certificates_item_data)

            certificates.append(certificates_item)

        disk = DiskModel.from_dict(d.pop("disk"))

        readers = []
        _readers = d.pop("readers")
        for readers_item_data in _readers:
            readers_item = ReaderStatusModel.from_dict(readers_item_data)

            readers.append(readers_item)

        time = datetime.datetime.fromisoformat(d.pop("time"))

        _terminals = d.pop("terminals", UNSET)
        terminals: list[TerminalStatusModel] | Unset = UNSET
        if _terminals is not UNSET:
            terminals = []
            for terminals_item_data in _terminals:
                terminals_item = TerminalStatusModel.from_dict(terminals_item_data)

                terminals.append(terminals_item)

        status_model = cls(
            audit=audit,
            certificates=certificates,
            disk=disk,
            readers=readers,
            time=time,
            terminals=terminals,
        )

        return status_model
