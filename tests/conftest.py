"""Fixtures over real parts shared by every test module (see tests/rig.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.rig import PcscRig, SoftHsmToken, session_pcscd_dir

# Hypothesis' per-example deadline is a timing assertion: on a shared 2-core machine a card
# parse took 0.6 s once and failed a correct test. Speed belongs in bench/, not in unit tests;
# every property keeps its example count.
settings.register_profile("comptoir", deadline=None)
settings.load_profile("comptoir")


def pytest_configure(config: pytest.Config) -> None:
    # Before any test can open a PC/SC context: libpcsclite reads this once per process, and
    # a test must never reach the box's own pcscd (/run/pcscd/pcscd.comm).
    session_pcscd_dir()


def pytest_unconfigure(config: pytest.Config) -> None:
    # Made at configure time even when no test used PC/SC; the rig, if started, is closed by now.
    shutil.rmtree(session_pcscd_dir(), ignore_errors=True)


@pytest.fixture(scope="session")
def pcsc_session_rig() -> Iterator[PcscRig]:
    """The session's private pcscd with 2 vpcd readers = 4 PC/SC slots (see tests/rig.py)."""
    directory = session_pcscd_dir()
    rig = PcscRig(directory, readers=2)
    rig.start()
    try:
        yield rig
    finally:
        rig.close()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def pcsc_rig(pcsc_session_rig: PcscRig) -> Iterator[PcscRig]:
    """The session rig, reset after the test: slots empty, readers plugged, pcscd running."""
    pcsc_session_rig.reset()
    yield pcsc_session_rig
    pcsc_session_rig.reset()


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory) -> SoftHsmToken:
    """An initialised, empty SoftHSM2 token for the session; SOFTHSM2_CONF set in-process."""
    token = SoftHsmToken.create(Path(tmp_path_factory.mktemp("softhsm")))
    token.activate()
    return token
