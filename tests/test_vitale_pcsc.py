"""A simulated carte Vitale read through the real stack: pyscard → pcscd → vpcd → sim card."""

from __future__ import annotations

import pytest

from drivers.cards.vitale import VitaleCard
from drivers.errors import CardProtocolError
from drivers.pcsc import PcscConnection
from drivers.sim.vitale_app import VitaleApplication
from drivers.sim.vitale_config import load_vitale_file
from tests.card_support import VITALE_SAMPLES
from tests.rig import EchoCard, PcscRig

pytestmark = pytest.mark.pcsc


def test_every_sample_card_reads_through_pcscd(pcsc_rig: PcscRig) -> None:
    for path in VITALE_SAMPLES:
        content = load_vitale_file(path).content
        app = VitaleApplication(content)
        reader = pcsc_rig.insert(0, app)
        with PcscConnection(reader) as conn:
            assert conn.atr == app.atr
            assert VitaleCard(conn).read() == content, path.name
        pcsc_rig.remove(0)


def test_non_vitale_card_through_pcscd(pcsc_rig: PcscRig) -> None:
    reader = pcsc_rig.insert(1, EchoCard(sw=b"\x6a\x82"))
    with PcscConnection(reader) as conn, pytest.raises(CardProtocolError, match="no VITALE"):
        VitaleCard(conn).read()
