"""One audit row per operation, committed before the answer, written by the audit writer.

Every service goes through :func:`hostd.services.jobs.audited`: the card job is only card work,
and its row is handed to the audit writer thread (group commit) afterwards. These tests pin that
every outcome gets exactly one row, with the API's problem slug and the tries left, that the row
is in the database when the caller gets its answer, and that the card never waits on the disk.
Also: the TLS transport wrapper sends a response's head and body as one write, and never loses
or reorders bytes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from drivers.cards.cps import CpsCard
from drivers.cards.cps_model import KeyRole
from drivers.errors import SecurityNotSatisfied, WrongPin
from drivers.sim import testpki
from drivers.sim.cps_app import CpsApplication
from hostd.audit import AuditLog
from hostd.config import CpsSettings
from hostd.scheduler import DeadlineExceeded
from hostd.services.cps import CpsService
from hostd.services.jobs import Caller
from hostd.services.readers import ReaderHub, UnknownReader
from hostd.tls import _CorkedTransport
from tests.card_support import DirectTransport
from tests.hostd_support import cps_config
from tests.test_hostd_cps_service import ATR, READER

CALLER = Caller("Comptoir 1", "Mme Durand")
OTHER = replace(CALLER, client="Comptoir 2")
"""A second counter: after its wrong PIN, a counter's next try is refused (PIN budget)."""
DIGEST = bytes(range(32))


@pytest.fixture(scope="module")
def config() -> Any:
    return replace(cps_config(testpki.TestPki.create()), pin="4739")


def build(tmp_path: Path, card: CpsApplication, deadline_s: float = 5.0) -> tuple[
        CpsService, ReaderHub, AuditLog]:
    audit = AuditLog.open(tmp_path)
    hub = ReaderHub(lambda _r: DirectTransport(card), lambda _k, t: CpsCard(t))
    svc = CpsService(hub, audit, CpsSettings(api_pin=True), deadline_s)  # a box: PIN pad only
    hub.add_session_listener(svc.session_ended)
    hub.on_card_inserted(READER, ATR)
    return svc, hub, audit


def outcomes(audit: AuditLog) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r.action, r.outcome, r.detail) for r in audit.records()]


def test_every_outcome_has_exactly_one_row_written_before_the_answer(
    tmp_path: Path, config: Any
) -> None:
    svc, hub, audit = build(tmp_path, CpsApplication(config))

    async def scenario() -> None:
        with pytest.raises(WrongPin):
            await svc.unlock(READER, bytearray(b"0000"), CALLER)
        assert len(outcomes(audit)) == 1  # committed by the time the error reached us
        await svc.unlock(READER, bytearray(b"4739"), OTHER)
        signature = await svc.sign(READER, KeyRole.AUTH, CALLER, digest=DIGEST)
        assert signature and len(outcomes(audit)) == 3
        with pytest.raises(UnknownReader):
            await svc.tries_left("Nowhere 00 00", CALLER)

    try:
        asyncio.run(scenario())
    finally:
        hub.stop()
    rows = outcomes(audit)
    # Outcomes are the problem slugs the API answers with; a wrong PIN keeps the tries left.
    assert rows == [
        ("cps.unlock", "wrong-pin", {"tries_left": 2}),
        ("cps.unlock", "ok", {}),
        ("cps.sign.auth", "ok", {"digest_sha256": DIGEST.hex()}),
        ("cps.tries-left", "unknown-reader", {}),
    ]
    assert audit.verify().ok


def test_a_signature_refused_on_a_locked_cps_is_audited(tmp_path: Path, config: Any) -> None:
    svc, hub, audit = build(tmp_path, CpsApplication(config))
    try:
        with pytest.raises(SecurityNotSatisfied):
            asyncio.run(svc.sign(READER, KeyRole.AUTH, CALLER, digest=DIGEST))
    finally:
        hub.stop()
    assert outcomes(audit) == [("cps.sign.auth", "cps-locked", {})]


def test_a_job_that_never_ran_is_audited_once_by_the_caller_side(
    tmp_path: Path, config: Any
) -> None:
    svc, hub, audit = build(tmp_path, CpsApplication(config), deadline_s=0.2)
    worker = hub.reader(READER).worker
    gate = asyncio.Event()

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        # Hold the card past the next job's deadline: that job is refused without running.
        blocker = worker.submit("other", "hold", lambda _s: time.sleep(0.5),
                                timeout_s=5)
        blocker.add_done_callback(lambda _f: loop.call_soon_threadsafe(gate.set))
        with pytest.raises(DeadlineExceeded):
            await svc.tries_left(READER, CALLER)
        await gate.wait()

    try:
        asyncio.run(scenario())
    finally:
        hub.stop()
    assert outcomes(audit) == [("cps.tries-left", "card-busy", {})]


def test_the_card_never_waits_on_the_disk_and_the_answer_waits_for_the_row(
    tmp_path: Path, config: Any
) -> None:
    svc, hub, audit = build(tmp_path, CpsApplication(config))
    worker = hub.reader(READER).worker

    async def scenario() -> bytes:
        await svc.unlock(READER, bytearray(b"4739"), CALLER)
        audit._lock.acquire()  # the disk stalls: no audit commit can finish
        try:
            signing = asyncio.create_task(
                svc.sign(READER, KeyRole.AUTH, CALLER, digest=DIGEST))
            # The signature's row is stuck, yet the card is free for the next job at once.
            probe = worker.submit("Comptoir 2", "probe", lambda _s: "card free", timeout_s=5)
            assert await asyncio.wait_for(asyncio.wrap_future(probe), 5) == "card free"
            await asyncio.sleep(0.3)
            assert not signing.done()  # no answer before its row is durable
        finally:
            audit._lock.release()
        return await asyncio.wait_for(signing, 5)

    try:
        assert asyncio.run(scenario())
        figures = worker.figures()
    finally:
        hub.stop()
    assert [o[:2] for o in outcomes(audit)] == [("cps.unlock", "ok"), ("cps.sign.auth", "ok")]
    # The card's service time is card time only: the 0.3 s the row waited is not in it.
    assert figures.service_p99_ms < 250


class Recording:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def test_corked_transport_sends_one_step_as_one_write_in_order() -> None:
    async def scenario() -> Recording:
        real = Recording()
        corked = _CorkedTransport(real)  # type: ignore[arg-type]
        corked.write(b"HTTP/1.1 200 OK\r\n\r\n")
        corked.write(memoryview(b'{"a":1}'))
        assert real.writes == []  # still in this step
        await asyncio.sleep(0)
        assert real.writes == [b'HTTP/1.1 200 OK\r\n\r\n{"a":1}']
        corked.write(b"next")
        corked.close()  # flushes before closing
        assert real.writes[-1] == b"next" and real.closed
        assert corked.get_extra_info("peername") == "info:peername"
        return real

    real = asyncio.run(scenario())
    assert len(real.writes) == 2
