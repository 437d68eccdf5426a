from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.audit_writer_model import AuditWriterModel


T = TypeVar("T", bound="AuditHeadModel")


@_attrs_define
class AuditHeadModel:
    """
    Attributes:
        head (str): Hash of the last row (hash chain head)
        rows (int):
        writer (AuditWriterModel): The audit writer's group commit since start-up: ``rows_per_commit`` is rows per
            fsync.
    """

    head: str
    rows: int
    writer: AuditWriterModel

    def to_dict(self) -> dict[str, Any]:
        head = self.head

        rows = self.rows

        writer = self.writer.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "head": head,
                "rows": rows,
                "writer": writer,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.audit_writer_model import AuditWriterModel

        d = dict(src_dict)
        head = d.pop("head")

        rows = d.pop("rows")

        writer = AuditWriterModel.from_dict(d.pop("writer"))

        audit_head_model = cls(
            head=head,
            rows=rows,
            writer=writer,
        )

        return audit_head_model
