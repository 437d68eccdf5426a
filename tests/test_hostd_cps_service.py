"""CpsService rules without HTTP: lease end of day, PIN wiping, last try — over the simulated
CPS through a direct transport (the card application is the real simulator, no pcscd)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drivers.cards.cps import CpsCard
from drivers.cards.cps_model import KeyRole
from drivers.errors import LastTryRefused, SecurityNotSatisfied
from drivers.sim import testpki
from drivers.sim.cps_app import CpsApplication
from hostd.audit import AuditLog
from hostd.config import CpsSettings
from hostd.services.cps import CpsService, _next_end_of_day
from hostd.services.jobs import Caller
from hostd.services.readers import CardKind, ReaderHub
from tests.card_support import DirectTransport
from tests.hostd_support import cps_config

READER = "Sim Reader 00 00"
ATR = bytes.fromhex("3BAC00402A00122500648000031000" "9000")



class Clock:
    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = datetime(2026, 11, 25, 19, 58).astimezone()


@pytest.fixture(scope="module")
def config() -> Any:
    return replace(cps_config(testpki.TestPki.create()), pin="4739")


def service(tmp_path: Path, card: CpsApplication, clock: Clock,
            **settings: Any) -> tuple[CpsService, ReaderHub]:
    hub = ReaderHub(lambda _r: DirectTransport(card), lambda _k, t: CpsCard(t))
    cps = CpsSettings(**{"api_pin": True, **settings})  # a box: false (PIN from the terminal)
    svc = CpsService(hub, AuditLog.open(tmp_path), cps, 5.0,
                     clock=lambda: clock.mono, wall=lambda: clock.wall)
    hub.add_session_listener(svc.session_ended)
    hub.on_card_inserted(READER, ATR)
    return svc, hub


CALLER = Caller("Comptoir 1", "Mme Durand")


def test_pin_buffer_is_wiped_and_lease_ends_at_end_of_day(tmp_path: Path, config: Any) -> None:
    clock = Clock()
    card = CpsApplication(config)
    svc, hub = service(tmp_path, card, clock, end_of_day="20:00", idle_timeout_s=3600)
    try:
        pin = bytearray(b"4739")
        answer = asyncio.run(svc.unlock(READER, pin, CALLER))
        assert pin == bytearray(4)  # wiped, not just dropped
        assert answer.tries_left == 3 and answer.lease.unlocked_by == "Comptoir 1"
        assert answer.lease.end_of_day == datetime(2026, 11, 25, 20, 0).astimezone()
        assert asyncio.run(svc.expire_leases()) == []
        clock.wall += timedelta(minutes=3)  # 20:01, no idle time at all
        assert asyncio.run(svc.expire_leases()) == [READER]
        assert svc.lease(READER) is None
        # The card was really told to forget the PIN.
        worker = hub.card_worker(READER, CardKind.CPS)
        assert worker.submit("t", "probe", lambda s: s.app.tries_left(), timeout_s=5).result(5)
        with pytest.raises(SecurityNotSatisfied):
            worker.submit("t", "sign", lambda s: s.app.sign_data(KeyRole.SIGN, b"x"),
                          timeout_s=5).result(5)
    finally:
        hub.stop()


def test_idle_timeout_and_last_try(tmp_path: Path, config: Any) -> None:
    clock = Clock()
    card = CpsApplication(replace(config, pin_tries_left=1))
    svc, hub = service(tmp_path, card, clock, idle_timeout_s=60)
    try:
        pin = bytearray(b"4739")
        with pytest.raises(LastTryRefused):
            asyncio.run(svc.unlock(READER, pin, CALLER))
        assert pin == bytearray(4)
        # Nothing was presented: the card still has its one try.
        assert CpsCard(DirectTransport(card)).tries_left() == 1
    finally:
        hub.stop()
    card2 = CpsApplication(config)
    (tmp_path / "b").mkdir()
    svc2, hub2 = service(tmp_path / "b", card2, clock, idle_timeout_s=60)
    try:
        asyncio.run(svc2.unlock(READER, bytearray(b"4739"), CALLER))
        clock.mono += 59
        assert asyncio.run(svc2.expire_leases()) == []
        clock.mono += 2
        assert asyncio.run(svc2.expire_leases()) == [READER]
    finally:
        hub2.stop()


def test_next_end_of_day_rolls_to_tomorrow() -> None:
    settings = CpsSettings(end_of_day="20:00")
    evening = datetime(2026, 11, 25, 21, 0).astimezone()
    assert _next_end_of_day(evening, settings).day == 26
    morning = datetime(2026, 11, 25, 8, 0).astimezone()
    assert _next_end_of_day(morning, settings).hour == 20


def test_wrong_pin_from_another_counter_ends_the_lease(tmp_path: Path, config: Any) -> None:
    from drivers.errors import WrongPin

    clock = Clock()
    svc, hub = service(tmp_path, CpsApplication(config), clock)
    try:
        asyncio.run(svc.unlock(READER, bytearray(b"4739"), CALLER))
        with pytest.raises(WrongPin):
            asyncio.run(svc.unlock(READER, bytearray(b"0000"), Caller("Comptoir 2", "X")))
        assert svc.lease(READER) is None
    finally:
        hub.stop()
