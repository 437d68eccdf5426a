"""A token failure is the box's problem (5xx), not the client's: a real SoftHSM2 token whose
key goes away under the running daemon. Its own module: a process holds one token at a time."""

from __future__ import annotations

import base64
from pathlib import Path

from pkcs11 import Attribute

from hostd.auth import Role
from provisioning.slots import Slot
from tests.api_cards_support import P
from tests.hostd_support import OPERATOR, start_daemon

PROBLEM = "application/problem+json"


def test_a_token_that_refuses_to_sign_is_the_box_problem(tmp_path: Path) -> None:
    d = start_daemon(tmp_path, watcher=False)
    try:
        http = d.client("Contract token", Role.SERVER)
        body = {"key": "org-sign", "data_b64": base64.b64encode(b"ordonnance").decode()}
        assert http.post("/v1/store/sign/raw", json=body, headers=OPERATOR).status_code == 200
        # The key's objects vanish from the real SoftHSM token under the running daemon, as
        # another PKCS#11 program on the box could do: the daemon's key handle, cached since
        # the first signature, is refused by the token from now on.
        signing = d.box.devices.signing
        assert signing is not None
        store = signing.backend._store  # type: ignore[attr-defined]
        key_id = store._active_key_id(Slot.ORG_SIGN)
        for obj in list(store.token._session.get_objects({Attribute.ID: key_id})):
            obj.destroy()
        answer = http.post("/v1/store/sign/raw", json=body, headers=OPERATOR)
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == PROBLEM
        problem = answer.json()
        assert problem["type"] == P + "token-unavailable"
        assert "refused to sign" in problem["detail"]
    finally:
        d.stop()
