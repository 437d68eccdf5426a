"""Response models: the shapes ``/openapi.json`` promises and the generated LGO clients use.

Every route answers one of these (never a bare dict), so each 2xx answer has a closed schema
and an example. They are built from the services' frozen values by ``hostd.api.convert`` only;
times are :data:`UtcTime` (RFC 3339, UTC, ``Z``) everywhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from hostd.clock import rfc3339

UtcTime = Annotated[
    dt.datetime,
    PlainSerializer(rfc3339, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "example": "2026-11-25T19:00:00Z"}),
]
"""An instant, always written in UTC with ``Z`` (the box's time zone never leaks)."""


def _example(example: dict[str, Any]) -> ConfigDict:
    """Closed model with one example (tests validate each example against its own model)."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


_READER = {
    "name": "Gemalto PC Twin Reader 00 00", "card_present": True, "card_kind": "cps",
    "atr": "3BAC00402A001225006480000310009000", "since": "2026-11-25T08:01:02.5Z",
}
_QUEUE = {
    "depth": 0, "running": False, "completed": 412, "failed": 3, "utilisation": 0.2141,
    "wait_ms": {"p50": 0.4, "p99": 310.2}, "service_ms": {"p50": 318.0, "p99": 342.7},
}
_LEASE = {
    "unlocked": True, "unlocked_by": "Comptoir 1", "operator": "Mme Martin",
    "unlocked_at": "2026-11-25T08:02:00Z", "end_of_day": "2026-11-25T19:00:00Z",
    "idle_seconds_left": 845.2,
}
_LOCKED = {"unlocked": False, "unlocked_by": None, "operator": None, "unlocked_at": None,
           "end_of_day": None, "idle_seconds_left": None}
_NIR = {"text": "279035121518989", "valid": True, "problem": None}
_SIGNATURE = {"algorithm": "RSASSA-PKCS1-v1_5-SHA256", "signature_b64": "kq3JZm9vYmFy"}
_PEM = "-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- problems ---------------------------------------------------------------------------------


class FieldIssue(_Model):
    loc: list[str] = Field(description="Where in the request (body, query, path, header)")
    msg: str


class ProblemDetails(_Model):
    """RFC 9457 problem details, answered as ``application/problem+json`` for every error."""

    model_config = _example({
        "type": "urn:comptoir:problem:wrong-pin", "title": "Wrong PIN", "status": 403,
        "detail": "wrong PIN, 2 tries left", "instance": "/v1/cps/Reader%200/unlock",
        "tries_left": 2, "errors": None,
    })
    type: str = Field(description="Stable URI, ``urn:comptoir:problem:<slug>``: switch on it")
    title: str
    status: int
    detail: str = Field(description="For people; never contains a PIN or submitted values")
    instance: str = Field(description="The request path")
    tries_left: int | None = Field(None, description="PIN tries left (PIN problems only)")
    errors: list[FieldIssue] | None = Field(None, description="Validation problems only")
    service_codes: list[str] | None = Field(
        None, description="The national service's fault codes (apcv-refused only)")


# -- readers and status -----------------------------------------------------------------------

CardKindName = Literal["cps", "vitale", "contactless", "unknown"]


class ReaderModel(_Model):
    model_config = _example(_READER)
    name: str
    card_present: bool
    card_kind: CardKindName | None
    atr: str | None = Field(description="ATR of the card, upper-case hex")
    since: UtcTime | None = Field(description="When the card last went in or out")


class Percentiles(_Model):
    p50: float
    p99: float


class QueueModel(_Model):
    depth: int = Field(description="Jobs waiting for the card")
    running: bool
    completed: int
    failed: int
    utilisation: float = Field(description="Share of the uptime the card spent on jobs, 0..1")
    wait_ms: Percentiles
    service_ms: Percentiles


class LeaseModel(_Model):
    """A CPS's unlock lease; every field but ``unlocked`` is null while the card is locked."""

    model_config = _example(_LEASE)
    unlocked: bool
    unlocked_by: str | None = Field(None, description="The client whose call opened the lease")
    operator: str | None = None
    unlocked_at: UtcTime | None = None
    end_of_day: UtcTime | None = Field(None, description="The lease ends here at the latest")
    idle_seconds_left: float | None = None


class ReaderDetailModel(ReaderModel):
    model_config = _example({**_READER, "queue": _QUEUE})
    queue: QueueModel


class ReaderStatusModel(ReaderDetailModel):
    model_config = _example({**_READER, "queue": _QUEUE, "lease": _LEASE})
    lease: LeaseModel | None = Field(None, description="CPS readers only")


class CertificateStatusModel(_Model):
    slot: str
    title: str
    subject: str | None
    not_after: UtcTime | None
    days_left: int | None
    chain_state: str
    renewal_pending: bool


class TerminalStatusModel(_Model):
    serial: str = Field(description="The terminal's board serial (RP2040 unique id)")
    counter: str = Field(description="The counter it serves (configuration), empty if unbound")
    client: str = Field(description="The enrolled client allowed to use it")
    paired: bool
    connected: bool
    firmware: str = Field(description="Firmware version reported at the handshake")


class AuditWriterModel(_Model):
    """The audit writer's group commit since start-up: ``rows_per_commit`` is rows per fsync."""

    commits: int = Field(description="Fsynced commits (groups of rows)")
    rows_written: int
    failed_commits: int = Field(description="Commits that failed (disk full…): rows refused")
    rows_per_commit: float
    group_p50: float = Field(description="Median rows per commit, recent commits")
    group_max: int = Field(description="Largest group, recent commits")
    commit_ms_p50: float = Field(description="Median time of one commit (fsync included)")


class AuditHeadModel(_Model):
    rows: int
    head: str = Field(description="Hash of the last row (hash chain head)")
    writer: AuditWriterModel


class DiskModel(_Model):
    model_config = _example({
        "level": "ok", "audit_bytes": 10485760, "journal_bytes": 52428800,
        "budget_bytes": 1073741824, "free_bytes": 20000000000, "used_ratio": 0.059,
        "message": "60 of 1024 MiB of the disk budget used"})
    level: Literal["ok", "warning", "full"]
    audit_bytes: int
    journal_bytes: int
    budget_bytes: int
    free_bytes: int
    used_ratio: float
    message: str


class StatusModel(_Model):
    model_config = _example({
        "time": "2026-11-25T10:00:00Z",
        "readers": [{**_READER, "queue": _QUEUE, "lease": _LEASE}],
        "certificates": [{
            "slot": "org-sign", "title": "ORG signature", "subject": "CN=Pharmacie du Port",
            "not_after": "2029-11-25T00:00:00Z", "days_left": 1096, "chain_state": "valid",
            "renewal_pending": False,
        }],
        "audit": {"rows": 1234, "head": "9f2c…", "writer": {
            "commits": 980, "rows_written": 1234, "failed_commits": 0, "rows_per_commit": 1.259,
            "group_p50": 1, "group_max": 14, "commit_ms_p50": 2.1}},
        "terminals": [{"serial": "E66141040317", "counter": "Comptoir 1",
                       "client": "comptoir-1", "paired": True, "connected": True,
                       "firmware": "0.2.0"}],
        "disk": {
            "level": "ok", "audit_bytes": 10485760, "journal_bytes": 52428800,
            "budget_bytes": 1073741824, "free_bytes": 20000000000, "used_ratio": 0.059,
            "message": "60 of 1024 MiB of the disk budget used"},
    })
    time: UtcTime
    readers: list[ReaderStatusModel]
    certificates: list[CertificateStatusModel]
    audit: AuditHeadModel
    terminals: list[TerminalStatusModel] = Field(default_factory=list)
    disk: DiskModel


# -- CPS --------------------------------------------------------------------------------------


class CpsReaderModel(_Model):
    model_config = _example({"reader": "Gemalto PC Twin Reader 00 00", "lease": _LOCKED,
                             "pin": "locked", "tries_left": 3})
    reader: str
    lease: LeaseModel
    pin: Literal["unlocked", "locked", "blocked"] = Field(
        description="``unlocked``: a lease is open; ``blocked``: the PIN try counter is at 0 "
        "(three wrong PINs), nothing that needs the PIN works until the holder unblocks the "
        "card with its PUK; ``locked``: otherwise (unlock with the PIN). Blocked is known once "
        "the box has read the card's try counter since it went in (any unlock, sign or "
        "tries-left on it does).")
    tries_left: int | None = Field(
        description="PIN tries left as last read from this card; null when the box has not "
        "read them since the card went in")


class UnlockedModel(LeaseModel):
    model_config = _example({
        **_LEASE, "tries_left": 3, "idle_seconds_left": 900.0,
    })
    tries_left: int


class SituationModel(_Model):
    number: int
    structure_name: str
    finess: str | None
    siret: str | None
    role: str


class CpsHolderModel(_Model):
    card_serial: str
    civilite: str
    nom: str
    prenom: str
    rpps: str
    profession: str
    specialty: str | None
    situations: list[SituationModel]


class CpsHolderResponse(_Model):
    model_config = _example({
        "holder": {
            "card_serial": "8000000001", "civilite": "MME", "nom": "MARTIN", "prenom": "CLAIRE",
            "rpps": "10100000001", "profession": "21", "specialty": None,
            "situations": [{"number": 1, "structure_name": "PHARMACIE DU PORT",
                            "finess": "750000001", "siret": None, "role": "titulaire"}],
        },
        "lease": _LEASE,
    })
    holder: CpsHolderModel
    lease: LeaseModel


class TriesLeftModel(_Model):
    model_config = _example({"tries_left": 3})
    tries_left: int


class CertificateModel(_Model):
    model_config = _example({"key": "sign", "certificate_pem": _PEM})
    key: Literal["auth", "sign"]
    certificate_pem: str


class SignatureModel(_Model):
    model_config = _example(_SIGNATURE)
    algorithm: Literal["RSASSA-PKCS1-v1_5-SHA256"]
    signature_b64: str


# -- Vitale -----------------------------------------------------------------------------------


class NirCheckModel(_Model):
    text: str = Field(description="The NIR as read (13 characters + key)")
    valid: bool
    problem: str | None = Field(description="Why the NIR does not check, for the LGO to flag")


class BirthDateModel(_Model):
    text: str = Field(description="YYYYMMDD exactly as on the card (00 = unknown day/month)")
    iso: str | None = Field(description="YYYY-MM-DD, null for a lunar date")
    lunar: bool


class CardInfoModel(_Model):
    card_type: str
    serial: str
    valid_from: dt.date


class SchemeModel(_Model):
    regime: str
    caisse: str
    centre: str
    gestion: str


class RightsPeriodModel(_Model):
    start: dt.date
    end: dt.date | None


class ExemptionModel(_Model):
    code: str
    start: dt.date
    end: dt.date | None


class InsuredModel(_Model):
    nir: NirCheckModel
    scheme: SchemeModel
    rights: list[RightsPeriodModel]
    exemptions: list[ExemptionModel]


class BeneficiaryModel(_Model):
    nom_usuel: str
    prenom: str
    birth_date: BirthDateModel
    rang: int
    qualite: str
    nom_naissance: str | None
    nir: NirCheckModel | None
    rights_end: dt.date | None
    qualite_label: str | None


class AmcContractModel(_Model):
    organisme: str
    name: str
    adherent: str | None
    start: dt.date
    end: dt.date | None


_VITALE_EXAMPLE: dict[str, Any] = {
        "card": {"card_type": "V2", "serial": "0123456789", "valid_from": "2021-03-01"},
        "insured": {
            "nir": _NIR,
            "scheme": {"regime": "01", "caisse": "751", "centre": "0001", "gestion": "10"},
            "rights": [{"start": "2024-01-01", "end": None}], "exemptions": [],
        },
        "beneficiaries": [{
            "nom_usuel": "MARTIN", "prenom": "CLAIRE",
            "birth_date": {"text": "19790300", "iso": None, "lunar": True}, "rang": 1,
            "qualite": "00", "nom_naissance": None, "nir": _NIR, "rights_end": None,
            "qualite_label": "assuré",
        }],
        "amc": [],
        "nir_problems": [],
    }


class VitaleReadModel(_Model):
    """Everything read from one carte Vitale, in card order; NIR problems are reported, never
    hidden (the LGO shows the card and flags it)."""

    model_config = _example(_VITALE_EXAMPLE)
    card: CardInfoModel
    insured: InsuredModel
    beneficiaries: list[BeneficiaryModel]
    amc: list[AmcContractModel]
    nir_problems: list[str]


# -- store signing ----------------------------------------------------------------------------


class StoreSignatureModel(SignatureModel):
    model_config = _example({**_SIGNATURE, "certificate_pem": _PEM})
    certificate_pem: str = Field(description="The signing key's certificate")


class CmsModel(_Model):
    model_config = _example({"cms_b64": "MIAGCSqGSIb3DQEHAqCAMIACAQEx…"})
    cms_b64: str = Field(description="Detached CMS SignedData, DER, base64")


class XmlModel(_Model):
    model_config = _example({"xml": "<saml2:Assertion …><ds:Signature>…</ds:Signature>…"})
    xml: str = Field(description="The signed XML document")


# -- admin ------------------------------------------------------------------------------------

RoleName = Literal["counter", "server", "admin"]


class ClientModel(_Model):
    model_config = _example({
        "id": 3, "name": "Comptoir 2", "role": "counter", "fingerprint_sha256": "5c1e…",
        "not_after": "2027-11-25T10:00:00Z", "enrolled_at": "2026-11-25T10:00:00Z",
        "revoked_at": None,
    })
    id: int
    name: str
    role: RoleName
    fingerprint_sha256: str
    not_after: UtcTime
    enrolled_at: UtcTime
    revoked_at: UtcTime | None


class RevokedModel(_Model):
    model_config = _example({"name": "Comptoir 2", "revoked": True})
    name: str
    revoked: Literal[True]


class PairingCodeModel(_Model):
    model_config = _example({"name": "Comptoir 2", "role": "counter", "code": "482913",
                             "ttl_s": 600})
    name: str
    role: RoleName
    code: str = Field(description="One-time code, to type on the new client")
    ttl_s: int


class AuditRecordModel(_Model):
    model_config = _example({
        "id": 1234, "ts": "2026-11-25T10:00:00.123456Z", "client": "Comptoir 1",
        "operator": "Mme Martin", "action": "cps.sign.sign", "target": "Reader 0",
        "outcome": "ok", "detail": {"data_bytes": 2048}, "prev_hash": "77ab…", "hash": "9f2c…",
    })
    id: int
    ts: str = Field(description="When the row was written, RFC 3339 UTC")
    client: str
    operator: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any] = Field(description="Action-specific facts (never a secret)")
    prev_hash: str
    hash: str


# -- scans, the ordonnance guard, ApCV ------------------------------------------------------


class ScanModel(_Model):
    kind: Literal["ordonnance", "apcv", "unknown"]
    text: str = Field(description="The raw text as read; for unreadable bytes, their hex")
    prescription_id: str | None = Field(description="The ordonnance's prescription number")
    reason: str | None = Field(description="Why unknown: no-rule, not-utf8, too-long, "
                                           "outside-frame, cut")


class GuardAlertModel(_Model):
    prescription_id: str
    reason: Literal["open-at-another-counter", "rescanned-while-open"]
    holder: str = Field(description="The counter that holds the open dispensation")
    scanned_at: str = Field(description="The counter whose scan raised the alert")
    counters: list[str] = Field(description="Every counter this alert is sent to")
    opened_at: UtcTime


class ScanEventModel(_Model):
    """One event of a counter's stream; ids increase across the whole box."""

    model_config = _example({
        "id": 42, "counter": "Comptoir 2", "at": "2026-11-25T08:05:00Z", "type": "guard",
        "source": "scanner-2", "scan": None, "detail": None,
        "alert": {"prescription_id": "1234567890123456789012",
                  "reason": "open-at-another-counter", "holder": "Comptoir 1",
                  "scanned_at": "Comptoir 2", "counters": ["Comptoir 1", "Comptoir 2"],
                  "opened_at": "2026-11-25T08:01:00Z"},
    })
    id: int
    counter: str
    at: UtcTime
    type: Literal["scan", "guard", "closed", "device"]
    source: str = Field(description="The scanner, camera or image poster")
    scan: ScanModel | None
    alert: GuardAlertModel | None
    detail: str | None = Field(description="device: connected/disconnected; closed: "
                                            "outcome:prescription")


class DispensationModel(_Model):
    model_config = _example({"prescription_id": "1234567890123456789012",
                             "counter": "Comptoir 1", "opened_at": "2026-11-25T08:01:00Z",
                             "alerts": 1})
    prescription_id: str
    counter: str
    opened_at: UtcTime
    alerts: int = Field(description="Scans of it elsewhere or again while open")


class ApcvReadRequest(_Model):
    """Exactly one of ``scan_id`` (a QR scanned at this counter) or ``nfc_reader`` (a phone
    laid on that contactless reader)."""

    scan_id: int | None = Field(None, ge=1, description="An ApCV scan of this counter")
    nfc_reader: str | None = Field(None, description="A contactless reader with the phone on it")
    cps_reader: str = Field(description="The reader holding the unlocked CPS to sign with")


class ApcvContextModel(_Model):
    id: str
    expires: UtcTime


class ApcvReadModel(VitaleReadModel):
    """A Vitale-shaped read that came from the application carte Vitale."""

    model_config = _example({
        **_VITALE_EXAMPLE,
        "card": {"card_type": "ApCV", "serial": "0123456789", "valid_from": "2021-03-01"},
        "source": "apcv-qr",
        "apcv_context": {"id": "ctx-5f0c", "expires": "2026-11-25T08:15:00Z"},
    })
    source: Literal["apcv-qr", "apcv-nfc"]
    apcv_context: ApcvContextModel


class ApcvEndedModel(_Model):
    model_config = _example({"id": "ctx-5f0c", "ended": True})
    id: str
    ended: bool


class ApcvSignRequest(_Model):
    cps_reader: str = Field(description="The reader holding the unlocked CPS")
    nir_assure: str = Field(description="The insured's NIR (13 + key) from the ApCV read")
    donnee_fse: str = Field(description="SHA-256 of the FSE, hex")
    donnee_dre: str = Field(description="SHA-256 of the DRE, hex")
    montant_total_cents: int = Field(ge=0, le=10_000_000)
    numero_facture: str = Field(description="1-9 digits")


class ApcvSignatureModel(_Model):
    model_config = _example({"context_id": "ctx-5f0c", "signature_b64": "kq3JZm9vYmFy",
                             "certificate_pem": _PEM})
    context_id: str
    signature_b64: str
    certificate_pem: str = Field(description="The GIE's signing certificate, as sent back")
