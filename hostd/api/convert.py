"""The one place where the services' frozen domain values become response models.

Routers call these and nothing else builds an answer, so a field is named, formatted and
rounded the same way in every endpoint (and in the status page, which renders the models).
"""

from __future__ import annotations

import base64
from dataclasses import fields, is_dataclass
from typing import TYPE_CHECKING, Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from drivers.cards.cps_model import CpsHolder
from drivers.cards.nir import NirCheck
from drivers.cards.vitale_model import Beneficiary, BirthDate, VitaleRead
from hostd.api import models as m
from hostd.audit import AuditRecord
from hostd.scanning.guard import Dispensation
from hostd.scanning.hub import ScanEvent
from hostd.scheduler import QueueFigures
from hostd.services.clients import PairingCode
from hostd.services.cps import LeaseStatus, Unlocked
from hostd.services.readers import CardKind, ReaderSnapshot
from hostd.services.status import BoxStatus, ReaderStatus
from provisioning.clients import Client
from provisioning.store import SlotStatus

if TYPE_CHECKING:
    from hostd.teleservices.apcv import ApcvRead, SignedInvoice


def reader(snapshot: ReaderSnapshot) -> m.ReaderModel:
    return m.ReaderModel(
        name=snapshot.name,
        card_present=snapshot.card_present,
        card_kind=snapshot.kind.value if snapshot.kind else None,
        atr=snapshot.atr.hex().upper() if snapshot.atr else None,
        since=snapshot.since,
    )


def queue(figures: QueueFigures) -> m.QueueModel:
    uptime = max(figures.uptime_s, 1e-9)
    return m.QueueModel(
        depth=figures.depth,
        running=figures.running,
        completed=figures.completed,
        failed=figures.failed,
        utilisation=round(figures.busy_s / uptime, 4),
        wait_ms=m.Percentiles(p50=round(figures.wait_p50_ms, 3),
                              p99=round(figures.wait_p99_ms, 3)),
        service_ms=m.Percentiles(p50=round(figures.service_p50_ms, 3),
                                 p99=round(figures.service_p99_ms, 3)),
    )


def reader_detail(status: ReaderStatus) -> m.ReaderDetailModel:
    return m.ReaderDetailModel(**_fields(reader(status.reader)), queue=queue(status.queue))


def cps_reader(reader: str, status: LeaseStatus | None, tries: int | None
               ) -> m.CpsReaderModel:
    pin: Literal["unlocked", "locked", "blocked"] = (
        "unlocked" if status is not None else "blocked" if tries == 0 else "locked")
    return m.CpsReaderModel(reader=reader, lease=lease(status), pin=pin, tries_left=tries)


def lease(status: LeaseStatus | None) -> m.LeaseModel:
    if status is None:
        return m.LeaseModel(unlocked=False, unlocked_by=None, operator=None, unlocked_at=None,
                            end_of_day=None, idle_seconds_left=None)
    return m.LeaseModel(
        unlocked=True,
        unlocked_by=status.unlocked_by,
        operator=status.operator,
        unlocked_at=status.unlocked_at,
        end_of_day=status.end_of_day,
        idle_seconds_left=status.idle_seconds_left,
    )


def unlocked(result: Unlocked) -> m.UnlockedModel:
    return m.UnlockedModel(tries_left=result.tries_left, **_fields(lease(result.lease)))


def certificate_status(slot: SlotStatus) -> m.CertificateStatusModel:
    return m.CertificateStatusModel(
        slot=slot.slot.value, title=slot.title, subject=slot.subject, not_after=slot.not_after,
        days_left=slot.days_left, chain_state=slot.chain_state.value,
        renewal_pending=slot.renewal_pending,
    )


def status(box: BoxStatus) -> m.StatusModel:
    return m.StatusModel(
        time=box.time,
        readers=[
            m.ReaderStatusModel(
                **_fields(reader_detail(r)),
                lease=lease(r.lease) if r.reader.kind is CardKind.CPS else None,
            )
            for r in box.readers
        ],
        certificates=[certificate_status(c) for c in box.certificates],
        audit=m.AuditHeadModel(rows=box.audit_rows, head=box.audit_head, writer=m.AuditWriterModel(
            commits=box.audit_writer.commits, rows_written=box.audit_writer.rows,
            failed_commits=box.audit_writer.failed_commits,
            rows_per_commit=round(box.audit_writer.rows_per_commit, 3),
            group_p50=box.audit_writer.group_p50, group_max=box.audit_writer.group_max,
            commit_ms_p50=round(box.audit_writer.commit_p50_ms, 3))),
        terminals=[m.TerminalStatusModel(**_plain(t)) for t in box.terminals],
        disk=m.DiskModel(
            level=box.disk.level,  # type: ignore[arg-type]
            audit_bytes=box.disk.audit_bytes, journal_bytes=box.disk.journal_bytes,
            budget_bytes=box.disk.budget_bytes, free_bytes=box.disk.free_bytes,
            used_ratio=round(box.disk.used_ratio, 4), message=box.disk.message),
    )


def holder(value: CpsHolder) -> m.CpsHolderModel:
    return m.CpsHolderModel.model_validate(_plain(value))


def vitale_read(value: VitaleRead) -> m.VitaleReadModel:
    return m.VitaleReadModel.model_validate(
        {**_plain(value), "nir_problems": list(value.nir_problems)}
    )


def client(value: Client) -> m.ClientModel:
    return m.ClientModel(
        id=value.id, name=value.name, role=value.role,  # type: ignore[arg-type]
        fingerprint_sha256=value.fingerprint_sha256, not_after=value.not_after,
        enrolled_at=value.enrolled_at, revoked_at=value.revoked_at,
    )


def pairing_code(value: PairingCode) -> m.PairingCodeModel:
    return m.PairingCodeModel(name=value.name, role=value.role.value, code=value.code,
                              ttl_s=value.ttl_s)


def audit_record(value: AuditRecord) -> m.AuditRecordModel:
    return m.AuditRecordModel.model_validate(_plain(value))


def _fields(model: m._Model) -> dict[str, Any]:
    return {name: getattr(model, name) for name in type(model).model_fields}


def _plain(value: Any) -> Any:
    """Dataclasses → dicts for model validation; card values keep their own reading (birth
    dates as written with ``iso``/``lunar``, each NIR with its check)."""
    if isinstance(value, BirthDate):
        return {"text": value.text, "iso": value.iso(), "lunar": value.lunar}
    if isinstance(value, NirCheck):
        return {"text": value.text, "valid": value.valid, "problem": value.problem}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, Beneficiary):
            out["qualite_label"] = value.qualite_label
        return out
    return value


def scan_event(value: ScanEvent) -> m.ScanEventModel:
    return m.ScanEventModel.model_validate(_plain(value))


def dispensation(value: Dispensation) -> m.DispensationModel:
    return m.DispensationModel.model_validate(_plain(value))


def apcv_read(value: ApcvRead) -> m.ApcvReadModel:
    return m.ApcvReadModel.model_validate({
        **_fields(vitale_read(value.read)), "source": value.source,
        "apcv_context": {"id": value.context.identifiant, "expires": value.context.expires},
    })


def apcv_signature(value: SignedInvoice) -> m.ApcvSignatureModel:
    cert = x509.load_der_x509_certificate(value.certificate_der)
    return m.ApcvSignatureModel(
        context_id=value.context_id, signature_b64=base64.b64encode(value.signature).decode(),
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode())
