"""The API's contract as LGO vendors read it from ``/openapi.json``, checked against the running
daemon over mTLS: every operation named, every answer typed (closed schemas, examples),
every error problem+json — and errors that say whose fault they are."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel

from hostd.api import convert
from hostd.api import models as m
from hostd.auth import Role
from hostd.clock import rfc3339
from hostd.services.cps import LeaseStatus
from tests.api_cards_support import PIN, P, insert_cps, url, wait_for_kind
from tests.hostd_support import OPERATOR, Daemon, cps_card, cps_config, start_daemon
from tests.rig import PcscRig

OPERATION_IDS = {
    "readers_list", "reader_get", "events_stream", "status_get", "status_page", "metrics_get",
    "cps_list", "cps_unlock", "cps_lock", "cps_holder", "cps_tries_left", "cps_certificate",
    "cps_sign", "vitale_read", "store_sign_raw", "store_sign_cms", "store_sign_xmldsig",
    "store_sign_vihf", "admin_clients_list", "admin_client_revoke",
    "admin_pairing_code_create", "admin_audit_rows", "ins_search", "dmp_existence", "dmp_relay",
    "scans_last", "scans_events", "scans_image", "ordonnances_open", "ordonnances_close",
    "apcv_read", "apcv_end", "apcv_sign",
}
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: object) -> Iterator[Daemon]:
    d = start_daemon(tmp_path_factory.mktemp("hostd-contract"))
    try:
        yield d
    finally:
        d.stop()


def _schema(spec: dict[str, Any], ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in ref_or_schema:
        name = ref_or_schema["$ref"].rsplit("/", 1)[-1]
        found: dict[str, Any] = spec["components"]["schemas"][name]
        return found
    return ref_or_schema


def _closed(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    """A JSON answer's schema names every field: a model with additionalProperties false, or
    an array of those."""
    schema = _schema(spec, schema)
    if schema.get("type") == "array":
        return _closed(spec, schema["items"])
    return schema.get("type") == "object" and schema.get("additionalProperties") is False


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _check_document(spec: dict[str, Any], expected_ids: set[str]) -> None:
    ids = [op.get("operationId") for _, _, op in _operations(spec)]
    assert sorted(i for i in ids if i) == sorted(expected_ids)
    assert len(ids) == len(set(ids))
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert "examples" in schemas["ProblemDetails"]
    for path, method, op in _operations(spec):
        where = f"{method.upper()} {path}"
        responses = op["responses"]
        ok = [s for s in responses if s.startswith("2")]
        assert ok, where
        for status in ok:
            content = responses[status]["content"]
            if "application/json" in content:
                schema = content["application/json"]["schema"]
                assert _closed(spec, schema), f"{where}: open 2xx schema {schema}"
                target = _schema(spec, schema)
                if target.get("type") == "array":
                    target = _schema(spec, target["items"])
                assert target.get("examples"), f"{where}: no example"
            else:  # bytes passed through (metrics text, the DMP's SOAP or MTOM answer)
                assert content, where
                for media in content:
                    assert content[media]["schema"] == {"type": "string"}, (where, media)
        errors = [s for s in responses if s[0] in "45"]
        assert "422" in errors and "500" in errors, where
        for status in errors:
            content = responses[status]["content"]
            assert set(content) == {PROBLEM}, f"{where} {status}: {set(content)}"
            assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/ProblemDetails"}
            examples = content[PROBLEM]["examples"]
            assert examples and all(
                e["value"]["status"] == int(status) for e in examples.values()
            ), f"{where} {status}"


def test_every_operation_is_named_typed_and_documents_its_problems(daemon: Daemon) -> None:
    http = daemon.client("Contract reader", Role.COUNTER)
    spec = http.get("/openapi.json").json()
    _check_document(spec, OPERATION_IDS)
    # The problems a route documents are the ones it raises (a sample).
    unlock = spec["paths"]["/v1/cps/{reader}/unlock"]["post"]["responses"]
    assert {"wrong-pin", "api-pin-disabled"} <= set(unlock["403"]["content"][PROBLEM]["examples"])
    assert "last-try-refused" in unlock["423"]["content"][PROBLEM]["examples"]
    sign = spec["paths"]["/v1/store/sign/raw"]["post"]["responses"]
    assert "token-unavailable" in sign["503"]["content"][PROBLEM]["examples"]


def test_every_example_is_a_valid_answer() -> None:
    models = [getattr(m, name) for name in dir(m)]
    checked = 0
    for model in models:
        if isinstance(model, type) and issubclass(model, BaseModel) and model is not BaseModel:
            for example in model.model_json_schema().get("examples", []):
                model.model_validate(example)
                checked += 1
    assert checked >= 20


def test_enrolment_document_is_typed_too(daemon: Daemon) -> None:
    import httpx

    with httpx.Client(base_url=daemon.enrol_url, verify=daemon.tls_context()) as http:
        spec = http.get("/openapi.json").json()
    operations = {op["operationId"]: op for _, _, op in _operations(spec)}
    assert set(operations) == {"enrol", "enrol_ca"}
    for op in operations.values():
        assert _closed(spec, op["responses"]["200"]["content"]["application/json"]["schema"])
    enrol = operations["enrol"]
    assert set(enrol["responses"]["422"]["content"]) == {PROBLEM}
    # A bad CSR is its own problem, not a refused code (issue 10).
    assert set(enrol["responses"]["400"]["content"]) == {PROBLEM}


def _valid(model: type[BaseModel], body: Any) -> None:
    # extra="forbid" everywhere: an answer with a field the document does not name fails.
    if isinstance(body, list):
        for item in body:
            model.model_validate(item)
    else:
        model.model_validate(body)


def test_answers_match_their_models(daemon: Daemon, pcsc_rig: PcscRig) -> None:
    admin = daemon.client("Contract admin", Role.ADMIN)
    counter = daemon.client("Contract counter", Role.COUNTER)
    reader = insert_cps(pcsc_rig, daemon, counter)
    _valid(m.ReaderModel, counter.get("/v1/readers").json())
    _valid(m.ReaderDetailModel, counter.get(f"/v1/readers/{reader}").json())
    status = counter.get("/v1/status").json()
    _valid(m.StatusModel, status)
    assert status["time"].endswith("Z")
    assert all(c["not_after"].endswith("Z") for c in status["certificates"])
    _valid(m.CpsReaderModel, counter.get("/v1/cps").json())
    unlocked = counter.post(f"{url(reader)}/unlock", json={"pin": PIN}, headers=OPERATOR)
    assert unlocked.status_code == 200, unlocked.text
    _valid(m.UnlockedModel, unlocked.json())
    assert unlocked.json()["unlocked_at"].endswith("Z")  # UTC, whatever the box's zone
    _valid(m.CpsHolderResponse, counter.get(url(reader), headers=OPERATOR).json())
    _valid(m.ClientModel, admin.get("/v1/admin/clients").json())
    _valid(m.AuditRecordModel, admin.get("/v1/admin/audit").json())
    code = admin.post("/v1/admin/pairing-codes", json={"name": "Comptoir Z"}, headers=OPERATOR)
    _valid(m.PairingCodeModel, code.json())


def test_validation_errors_are_problems_without_the_submitted_values(daemon: Daemon) -> None:
    http = daemon.client("Contract typo", Role.COUNTER)
    answer = http.post("/v1/cps/x/unlock", json={"pin": "4739", "extra": "4739"},
                       headers=OPERATOR)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    m.ProblemDetails.model_validate(body)
    assert body["type"] == P + "invalid-request" and "4739" not in answer.text


def test_lease_times_are_rfc3339_utc_whatever_the_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert rfc3339(datetime(2026, 11, 25, 20, 0, tzinfo=paris)) == "2026-11-25T19:00:00Z"
    lease = LeaseStatus("R", "Comptoir 1", "Mme D", datetime(2026, 7, 1, 9, 0, tzinfo=paris),
                        datetime(2026, 7, 1, 20, 0, tzinfo=paris), 12.5)
    body = convert.lease(lease).model_dump(mode="json")
    assert body["unlocked_at"] == "2026-07-01T07:00:00Z"
    assert body["end_of_day"] == "2026-07-01T18:00:00Z"


def test_a_card_looping_on_61xx_is_a_card_error_not_a_bad_request(
    daemon: Daemon, pcsc_rig: PcscRig
) -> None:
    http = daemon.client("Contract 61xx", Role.COUNTER)
    faulty = replace(cps_config(daemon.pki), answers_61xx_forever=True)
    reader = pcsc_rig.insert(0, cps_card(faulty))
    wait_for_kind(http, reader, "cps")
    answer = http.get(f"{url(reader)}/tries-left", headers=OPERATOR)
    assert answer.status_code == 502, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["type"] == P + "card-protocol-error"
    assert "61xx" in answer.json()["detail"]
    row = next(r for r in reversed(list(daemon.box.audit.records()))
               if r.action == "cps.tries-left")
    assert row.outcome != "ok" and row.client == "Contract 61xx"


def test_a_box_without_teleservices_documents_and_refuses_them(daemon: Daemon) -> None:
    # One contract for every box: the INSi/DMP routes are in the document, and a box whose
    # configuration has no [teleservices] answers them with a problem the LGO can switch on.
    http = daemon.client("Comptoir sans INSi")
    assert "/v1/ins/search" in http.get("/openapi.json").json()["paths"]
    answer = http.post("/v1/ins/search", headers={"X-Comptoir-Operator": "Mme Martin"}, json={
        "traits": {"nom_naissance": "DUPONT", "prenoms": ["JEANNE"], "sexe": "F",
                   "date_naissance": "1950-03-15"}})
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] == "urn:comptoir:problem:teleservice-not-configured"
    assert "retry-after" not in answer.headers  # the technician configures it; time will not
    # ApCV the same way: in the document (so in the generated clients), refused without [apcv].
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/v1/counters/{counter}/apcv/reads", "/v1/apcv/contexts/{context_id}",
            "/v1/apcv/contexts/{context_id}/sign"} <= set(paths)
    for method, path, body in (
        ("POST", "/v1/counters/Comptoir sans INSi/apcv/reads", {"scan_id": 1, "cps_reader": "R"}),
        ("DELETE", "/v1/apcv/contexts/ctx-1?cps_reader=R", None),
        ("POST", "/v1/apcv/contexts/ctx-1/sign", {
            "nir_assure": "1840569381042", "donnee_fse": "AA==", "donnee_dre": "AA==",
            "montant_total_cents": 100, "numero_facture": "000000001", "cps_reader": "R"}),
    ):
        refused = http.request(method, path, json=body,
                               headers={"X-Comptoir-Operator": "Mme Martin"})
        assert refused.status_code == 503, (path, refused.text)
        assert refused.json()["type"] == "urn:comptoir:problem:teleservice-not-configured"
        assert "ApCV" in refused.json()["detail"] and "retry-after" not in refused.headers
