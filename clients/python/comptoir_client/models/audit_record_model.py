from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.audit_record_model_detail import AuditRecordModelDetail


T = TypeVar("T", bound="AuditRecordModel")


@_attrs_define
class AuditRecordModel:
    """
    Attributes:
        action (str):
        client (str):
        detail (AuditRecordModelDetail): Action-specific facts (never a secret)
        hash_ (str):
        id (int):
        operator (str):
        outcome (str):
        prev_hash (str):
        target (str):
        ts (str): When the row was written, RFC 3339 UTC
    """

    action: str
    client: str
    detail: AuditRecordModelDetail
    hash_: str
    id: int
    operator: str
    outcome: str
    prev_hash: str
    target: str
    ts: str

    def to_dict(self) -> dict[str, Any]:
        action = self.action

        client = self.client

        detail = self.detail.to_dict()

        hash_ = self.hash_

        id = self.id

        operator = self.operator

        outcome = self.outcome

        prev_hash = self.prev_hash

        target = self.target

        ts = self.ts

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "action": action,
                "client": client,
                "detail": detail,
                "hash": hash_,
                "id": id,
                "operator": operator,
                "outcome": outcome,
                "prev_hash": prev_hash,
                "target": target,
                "ts": ts,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.audit_record_model_detail import AuditRecordModelDetail

        d = dict(src_dict)
        action = d.pop("action")

        client = d.pop("client")

        detail = AuditRecordModelDetail.from_dict(d.pop("detail"))

        hash_ = d.pop("hash")

        id = d.pop("id")

        operator = d.pop("operator")

        outcome = d.pop("outcome")

        prev_hash = d.pop("prev_hash")

        target = d.pop("target")

        ts = d.pop("ts")

        audit_record_model = cls(
            action=action,
            client=client,
            detail=detail,
            hash_=hash_,
            id=id,
            operator=operator,
            outcome=outcome,
            prev_hash=prev_hash,
            target=target,
            ts=ts,
        )

        return audit_record_model
