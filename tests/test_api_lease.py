"""The CPS unlock lease through the daemon: idle expiry resets the card itself."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from drivers.cards.cps_model import KeyRole
from drivers.errors import SecurityNotSatisfied
from tests.api_cards_support import LOCKED, PIN, P, insert_cps, url
from tests.hostd_support import OPERATOR, start_daemon
from tests.rig import PcscRig


def test_lease_expiry_relocks_the_card(tmp_path: Path, pcsc_rig: PcscRig) -> None:
    d = start_daemon(tmp_path, cps={"idle_timeout_s": 1.0})
    try:
        http = d.client("Comptoir L")
        reader = insert_cps(pcsc_rig, d, http)
        assert http.post(f"{url(reader)}/unlock", json={"pin": PIN},
                         headers=OPERATOR).status_code == 200
        data = {"key": "sign", "data_b64": base64.b64encode(b"x").decode()}
        assert http.post(f"{url(reader)}/sign", json=data, headers=OPERATOR).status_code == 200
        time.sleep(2.5)  # idle past the timeout; housekeeping runs every second
        assert http.get("/v1/cps").json() == [
            {"reader": reader, "lease": LOCKED, "pin": "locked", "tries_left": 3}]
        expired = http.post(f"{url(reader)}/sign", json=data, headers=OPERATOR)
        assert expired.status_code == 403 and expired.json()["type"] == P + "cps-locked"
        assert any(r.action == "cps.lease-expired" and r.outcome == "ok"
                   for r in d.box.audit.records())
        # The card itself was reset: its PIN state is gone, not just the daemon's flag.
        worker = d.box.devices.hub.reader(reader).worker
        future = worker.submit("test", "probe", lambda s: s.app.sign_data(KeyRole.SIGN, b"x"),
                               timeout_s=5)
        with pytest.raises(SecurityNotSatisfied):
            future.result(5)
    finally:
        d.stop()
