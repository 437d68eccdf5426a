"""/v1/ins and /v1/dmp: INSi and the DMP through the box's keys, for every counter.

The LGO never holds a certificate for these services: the box makes the mTLS call with its
ORG AUTH_CLI key (kept in the token), adds the VIHF (ORG SIGN) for the DMP, and in CPx mode the
assertion PS signed by the shared CPS. Problems carry the service's own codes (``codes``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from hostd.api import problems as p
from hostd.api.deps import CardCaller, Ctx, StoreCaller
from hostd.api.problems import ApiProblem
from hostd.teleservices.ins_traits import Traits
from hostd.teleservices.names import DMP_SERVICES, MAX_RELAY_BYTES, Mode

if TYPE_CHECKING:  # the SOAP stack loads only on a box with [teleservices] (names.py says why)
    from hostd.services.teleservices import TeleservicesService
    from hostd.teleservices import insi

router = APIRouter(tags=["teleservices"])


def _ex(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


# -- requests ---------------------------------------------------------------------------------


class TraitsRequest(BaseModel):
    model_config = _ex({"nom_naissance": "Dupont", "prenoms": ["Jeanne", "Marie"], "sexe": "F",
                        "date_naissance": "1950-03-15", "lieu_naissance": "75056"})
    nom_naissance: str = Field(max_length=100, description="Birth name (normalised by the box)")
    prenoms: list[str] = Field(default_factory=list, max_length=10,
                               description="First names in civil-register order")
    sexe: Literal["M", "F"]
    date_naissance: str = Field(max_length=10, description="YYYY-MM-DD (a calendar date)")
    lieu_naissance: str | None = Field(None, max_length=5, description="INSEE COG (99xxx abroad)")


class VitaleBeneficiary(BaseModel):
    model_config = _ex({"reader": "Gemalto PC Twin Reader 01 00", "beneficiary": 0})
    reader: str = Field(max_length=200, description="Reader holding the carte Vitale")
    beneficiary: int = Field(ge=0, le=5, description="Index in the card's beneficiary list")


class InsSearchRequest(BaseModel):
    """Exactly one of ``traits`` and ``vitale``."""

    model_config = _ex({"vitale": {"reader": "Gemalto PC Twin Reader 01 00", "beneficiary": 0},
                        "mode": "certificate"})
    traits: TraitsRequest | None = None
    vitale: VitaleBeneficiary | None = None
    mode: Literal["certificate", "cpx"] | None = Field(
        None, description="certificate (the box's INSI-AUTO key) or cpx (assertion PS signed "
                          "by the shared CPS); default from the configuration")
    cps_reader: str | None = Field(None, max_length=200,
                                   description="CPx mode: the CPS reader, if several")


class OperatorModel(BaseModel):
    model_config = _ex({"id": "810001234567", "name": "LEFEVRE Hélène", "profession": "21",
                        "cnop_section": "G"})
    id: str = Field(max_length=64, description="National id of the professional (8 + RPPS)")
    name: str = Field(max_length=256)
    profession: str = Field(max_length=8, description="TRE_G15 profession code (21 pharmacist)")
    cnop_section: str | None = Field(None, max_length=8,
                                     description="TRE_G05 CNOP section (pharmacists)")


class DmpExistenceRequest(BaseModel):
    model_config = _ex({"ins": "284056938104286",
                        "operator": {"id": "810001234567", "name": "LEFEVRE Hélène",
                                     "profession": "21", "cnop_section": "G"}})
    ins: str = Field(pattern=r"^\d{5}[0-9AB]\d{9}$", description="INS: NIR or NIA with its key")
    operator: OperatorModel


# -- responses --------------------------------------------------------------------------------


class InsIdentifierModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ins: str = Field(description="15 characters: matricule and key")
    matricule: str
    cle: str
    oid: str
    kind: str = Field(description="NIR, NIA, NIR (test), NIA (test)")
    date_debut: str | None
    date_fin: str | None


class InsTraitsModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nom_naissance: str
    prenom: str
    liste_prenom: str
    sexe: str
    date_naissance: str
    lieu_naissance: str | None


_ID = {"ins": "284056938104286", "matricule": "2840569381042", "cle": "86",
       "oid": "1.2.250.1.213.1.4.8", "kind": "NIR", "date_debut": None, "date_fin": None}


class InsSearchModel(BaseModel):
    model_config = _ex({
        "code": "00", "label": "OK", "found": True, "mode": "certificate", "calls": 1,
        "ins": _ID, "history": [],
        "traits": {"nom_naissance": "LEFEVRE", "prenom": "BENEDICTE",
                   "liste_prenom": "BENEDICTE", "sexe": "F", "date_naissance": "1984-05-21",
                   "lieu_naissance": "69381"}})
    code: Literal["00", "01", "02"] = Field(description="00 found, 01 none, 02 several")
    label: str
    found: bool
    mode: Literal["certificate", "cpx"]
    calls: int = Field(description="INSi calls made (one per first name, then the list)")
    ins: InsIdentifierModel | None
    history: list[InsIdentifierModel]
    traits: InsTraitsModel | None


class DmpExistenceModel(BaseModel):
    model_config = _ex({"ins": "284056938104286", "found": True, "dmp_status": "active",
                        "patient_status": "active", "authorization": "VALIDE"})
    ins: str
    found: bool
    dmp_status: str | None
    patient_status: str | None
    authorization: str | None


def _identifier(i: insi.InsIdentifier) -> InsIdentifierModel:
    return InsIdentifierModel(ins=i.ins, matricule=i.matricule, cle=i.cle, oid=i.oid,
                              kind=i.kind, date_debut=i.date_debut, date_fin=i.date_fin)


def to_model(a: insi.InsAnswer) -> InsSearchModel:
    t = a.traits
    return InsSearchModel(
        code=a.code, label=a.label, found=a.found, mode=a.mode.value, calls=a.calls,  # type: ignore[arg-type]
        ins=_identifier(a.ins) if a.ins else None, history=[_identifier(h) for h in a.history],
        traits=InsTraitsModel(
            nom_naissance=t.nom_naissance, prenom=t.prenom, liste_prenom=t.liste_prenom,
            sexe=t.sexe, date_naissance=t.date_naissance, lieu_naissance=t.lieu_naissance,
        ) if t else None,
    )


# -- routes -----------------------------------------------------------------------------------


def _service(ctx: Any) -> TeleservicesService:
    service: TeleservicesService | None = ctx.teleservices
    if service is None:
        raise ApiProblem(p.TELESERVICE_NOT_CONFIGURED,
                         "INSi and the DMP are not configured on this box ([teleservices])")
    return service


_TELE = (p.TELESERVICE_FAULT, p.TELESERVICE_UNAVAILABLE, p.TELESERVICE_UNREACHABLE,
         p.TELESERVICE_BAD_ANSWER, p.TELESERVICE_NOT_CONFIGURED, p.TOKEN_UNAVAILABLE,
         p.AUDIT_UNAVAILABLE, p.OPERATOR_REQUIRED)


@router.post("/v1/ins/search", summary="The patient's INS from INSi (traits or carte Vitale)",
             operation_id="ins_search",
             responses=p.api_responses(*_TELE, *p.CARD_PROBLEMS, p.BAD_REQUEST,
                                       p.INVALID_TRAITS, p.LUNAR_BIRTH_DATE, p.NO_CPS_FOR_CPX,
                                       p.CPS_LOCKED, p.PIN_BLOCKED))
async def ins_search(body: InsSearchRequest, ctx: Ctx, caller: CardCaller) -> InsSearchModel:
    service = _service(ctx)
    if (body.traits is None) == (body.vitale is None):
        raise ApiProblem(p.BAD_REQUEST, "give exactly one of traits and vitale")
    traits = None
    if body.traits is not None:
        t = body.traits
        traits = Traits.parse(t.nom_naissance, t.prenoms, t.sexe, t.date_naissance,
                              t.lieu_naissance)
    vitale = (body.vitale.reader, body.vitale.beneficiary) if body.vitale else None
    answer = await service.ins_search(
        caller, traits=traits, vitale=vitale,
        mode=Mode(body.mode) if body.mode else None, cps_reader=body.cps_reader,
    )
    return to_model(answer)


@router.post("/v1/dmp/existence", summary="DMP TD0.2: does this patient have a DMP",
             operation_id="dmp_existence", responses=p.api_responses(*_TELE,
                                                                      p.BAD_SIGNING_REQUEST))
async def dmp_existence(body: DmpExistenceRequest, ctx: Ctx, caller: StoreCaller
                        ) -> DmpExistenceModel:
    answer = await _service(ctx).dmp_existence(caller, body.ins, body.operator.model_dump())
    return DmpExistenceModel(**answer.to_dict())


_BYTES = {"schema": {"type": "string", "format": "binary"}}
_SOAP_BODY = {"requestBody": {"required": True, "description": (
    "The counter's SOAP 1.2 envelope, or its MTOM form (TD2.1/TD2.2 with documents as "
    'attachments): multipart/related; type="application/xop+xml"; start="<root>"; '
    'start-info="application/soap+xml"; boundary=…, the root part application/xop+xml; '
    'type="application/soap+xml", each xop:Include href="cid:…" naming an attachment part. '
    "The box adds its VIHF to the envelope's header and relays every attachment byte for byte."),
    "content": {"application/soap+xml": _BYTES, "multipart/related": _BYTES}}}


@router.post(
    "/v1/dmp/relay/{service}", summary="Relay a counter's DMP SOAP request with the box's VIHF",
    operation_id="dmp_relay", openapi_extra=_SOAP_BODY, response_class=Response,
    responses={200: {"description": "The DMP's answer, unchanged (status, type, body; MTOM "
                                    "answers too)",
                     "content": {"application/soap+xml": {"schema": {"type": "string"}},
                                 "multipart/related": {"schema": {"type": "string"}}}},
               **p.api_responses(*_TELE, p.BAD_DMP_REQUEST, p.BAD_SIGNING_REQUEST)},
)
async def dmp_relay(
    request: Request, ctx: Ctx, caller: StoreCaller,
    service: Annotated[str, Path(description=", ".join(DMP_SERVICES))],
    patient_ins: Annotated[str, Header(alias="X-Comptoir-Patient-Ins",
                                       pattern=r"^\d{5}[0-9AB]\d{9}$")],
    operator_id: Annotated[str, Header(alias="X-Comptoir-Operator-Id", max_length=64)],
    profession: Annotated[str, Header(alias="X-Comptoir-Profession", max_length=8)],
    cnop_section: Annotated[str | None, Header(alias="X-Comptoir-Cnop-Section",
                                               max_length=8)] = None,
) -> Response:
    length = int(request.headers.get("content-length") or 0)
    if length > MAX_RELAY_BYTES:
        raise ApiProblem(p.BAD_DMP_REQUEST, "request larger than 10 MiB")
    data = await request.body()
    operator = {"id": operator_id, "name": caller.operator, "profession": profession,
                "cnop_section": cnop_section}
    answer = await _service(ctx).dmp_relay(
        caller, service, request.headers.get("content-type", ""), data, patient_ins, operator)
    return Response(answer.body, status_code=answer.status, media_type=None,
                    headers={"content-type": answer.content_type or "application/octet-stream"})
