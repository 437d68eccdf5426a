"""Issue 11 findings on the counter-facing API: operator names, card-state answers, and the
per-client budget of wrong API PINs — real daemon, real HTTPS, cards through pcscd/vpcd."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hostd.auth import MissingOperator, operator_name
from tests.api_cards_support import PIN, P, insert_cps, url
from tests.hostd_support import OPERATOR, OPERATOR_NAME, Daemon, start_daemon
from tests.rig import PcscRig


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: PcscRig) -> Iterator[Daemon]:
    d = start_daemon(tmp_path_factory.mktemp("hostd-hostile"))
    try:
        yield d
    finally:
        d.stop()


@pytest.mark.parametrize("char", [
    "\u0085",  # NEL: a line break for many readers of the export
    "\u2028", "\u2029",  # line / paragraph separators
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",  # bidi embeddings and overrides
    "\u2066", "\u2067", "\u2068", "\u2069",  # bidi isolates
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",  # zero-width / invisible
    "\x00", "\x1b", "\x7f", "\x9b",
])
def test_operator_names_with_control_or_invisible_characters_are_refused(char: str) -> None:
    encoded = "".join(f"%{b:02X}" for b in f"Mme{char}Durand".encode())
    with pytest.raises(MissingOperator, match=f"U\\+{ord(char):04X}"):
        operator_name(encoded)


def test_operator_names_decode_percent_and_raw_utf8_to_the_same_text() -> None:
    assert operator_name("Mme Durand (pr%C3%A9paratrice)") == OPERATOR_NAME
    # Raw UTF-8 bytes reach the app as Latin-1 text: turned back into the real name.
    assert operator_name(OPERATOR_NAME.encode().decode("latin-1")) == OPERATOR_NAME
    # Decomposed é (e + U+0301) is stored composed.
    assert operator_name("pr%65%CC%81paratrice") == "pr\u00e9paratrice"
    with pytest.raises(MissingOperator, match="not UTF-8"):
        operator_name("pr%E9paratrice")  # Latin-1 percent-encoded
    with pytest.raises(MissingOperator):
        operator_name("a" * 129)


def test_api_refuses_a_bidi_override_and_stores_raw_utf8_names_as_text(daemon: Daemon) -> None:
    http = daemon.client("Comptoir N")
    refused = http.post("/v1/cps/nowhere/sign", json={"key": "sign", "digest_b64": "A" * 43 + "="},
                        headers={"X-Comptoir-Operator": "Mme %E2%80%AEDurand"})
    assert refused.status_code == 400
    assert refused.json()["type"] == P + "operator-required"
    assert "U+202E" in refused.json()["detail"]
    # A client sending the name as raw UTF-8 bytes: audited as the real name.
    raw = http.post("/v1/cps/nowhere/sign", json={"key": "sign", "digest_b64": "A" * 43 + "="},
                    headers={"X-Comptoir-Operator": OPERATOR_NAME.encode()})
    assert raw.status_code == 404, raw.text
    rows = [r for r in daemon.box.audit.records() if r.client == "Comptoir N"]
    assert [r.operator for r in rows] == [OPERATOR_NAME]
    assert all("\u202e" not in r.operator for r in daemon.box.audit.records())


def test_sign_with_no_card_says_no_card_not_locked(daemon: Daemon, pcsc_rig: PcscRig) -> None:
    http = daemon.client("Comptoir V")
    reader = insert_cps(pcsc_rig, daemon, http)
    pcsc_rig.remove(0)
    from tests.api_cards_support import wait_for_kind

    wait_for_kind(http, reader, None)
    r = http.post(f"{url(reader)}/sign", json={"key": "sign", "digest_b64": "A" * 43 + "="},
                  headers=OPERATOR)
    assert r.status_code == 409, r.text
    assert r.json()["type"] == P + "no-card"
    # With the card back but locked, the answer is "locked" (true again).
    reader = insert_cps(pcsc_rig, daemon, http)
    r = http.post(f"{url(reader)}/sign", json={"key": "sign", "digest_b64": "A" * 43 + "="},
                  headers=OPERATOR)
    assert r.status_code == 403 and r.json()["type"] == P + "cps-locked"


def test_one_counter_cannot_spend_the_pin_tries_of_the_others(
    daemon: Daemon, pcsc_rig: PcscRig
) -> None:
    rogue = daemon.client("Comptoir R")
    honest = daemon.client("Comptoir H")
    reader = insert_cps(pcsc_rig, daemon, rogue)
    wrong = rogue.post(f"{url(reader)}/unlock", json={"pin": "0000"}, headers=OPERATOR)
    assert wrong.json()["type"] == P + "wrong-pin" and wrong.json()["tries_left"] == 2
    # Its second wrong PIN is refused before the card: the card still has 2 tries.
    again = rogue.post(f"{url(reader)}/unlock", json={"pin": "1111"}, headers=OPERATOR)
    assert again.status_code == 423, again.text
    assert again.json()["type"] == P + "pin-budget-spent"
    assert honest.get(f"{url(reader)}/tries-left", headers=OPERATOR).json() == {"tries_left": 2}
    # Another counter's person still has a try of their own, and can unlock.
    ok = honest.post(f"{url(reader)}/unlock", json={"pin": PIN}, headers=OPERATOR)
    assert ok.status_code == 200, ok.text
    # A correct PIN resets everyone's share: the first counter may try again.
    rogue.post(f"{url(reader)}/lock", headers=OPERATOR)
    assert rogue.post(f"{url(reader)}/unlock", json={"pin": PIN},
                      headers=OPERATOR).status_code == 200
    outcomes = [r.outcome for r in daemon.box.audit.records()
                if r.client == "Comptoir R" and r.action == "cps.unlock"]
    assert outcomes == ["wrong-pin", "pin-budget-spent", "ok"]


def test_a_blocked_cps_says_blocked_not_locked(daemon: Daemon, pcsc_rig: PcscRig) -> None:
    """A CPS whose PIN was blocked elsewhere (three wrong PINs at a workstation: the try
    counter reads 0 and VERIFY answers 6983) is put in the box's reader: every operation that
    needs the PIN says "blocked, use the PUK", never "locked, unlock it" (no unlock can help)."""
    from dataclasses import replace

    from tests.api_cards_support import wait_for_kind
    from tests.hostd_support import cps_card, cps_config

    http = daemon.client("Comptoir K")
    digest = {"key": "sign", "digest_b64": "A" * 43 + "="}
    reader = pcsc_rig.insert(0, cps_card(replace(cps_config(daemon.pki), pin=PIN,
                                                 pin_tries_left=0)))
    wait_for_kind(http, reader, "cps")
    # Nothing read from the card yet: not unlocked, tries unknown.
    assert [(c["pin"], c["tries_left"]) for c in http.get("/v1/cps").json()
            if c["reader"] == reader] == [("locked", None)]
    for method, path, body in (("POST", "/sign", digest), ("GET", "", None),
                               ("POST", "/unlock", {"pin": PIN}), ("POST", "/sign", digest)):
        r = http.request(method, url(reader) + path, json=body, headers=OPERATOR)
        assert r.status_code == 423, (path, r.text)
        problem = r.json()
        assert problem["type"] == P + "pin-blocked", (path, problem)
        assert "PUK" in problem["detail"] and problem["tries_left"] == 0
    assert [(c["pin"], c["tries_left"]) for c in http.get("/v1/cps").json()
            if c["reader"] == reader] == [("blocked", 0)]
    rows = [(r.action, r.outcome) for r in daemon.box.audit.records()
            if r.client == "Comptoir K"]
    assert rows == [("cps.sign.sign", "pin-blocked"), ("cps.holder", "pin-blocked"),
                    ("cps.unlock", "pin-blocked"), ("cps.sign.sign", "pin-blocked")]
    # Replaced by a card that is only locked: "locked" again (the blocked state left with the
    # card), and the holder's situations (PIN-protected on the card) say locked too.
    pcsc_rig.remove(0)
    wait_for_kind(http, reader, None)
    reader = insert_cps(pcsc_rig, daemon, http)
    for method, path in (("POST", "/sign"), ("GET", "")):
        r = http.request(method, url(reader) + path, json=digest if path else None,
                         headers=OPERATOR)
        assert r.status_code == 403 and r.json()["type"] == P + "cps-locked", (path, r.text)
    assert [(c["pin"], c["tries_left"]) for c in http.get("/v1/cps").json()
            if c["reader"] == reader] == [("locked", 3)]
    assert http.post(f"{url(reader)}/unlock", json={"pin": PIN},
                     headers=OPERATOR).status_code == 200
    assert [c["pin"] for c in http.get("/v1/cps").json() if c["reader"] == reader] == [
        "unlocked"]
