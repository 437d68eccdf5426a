"""The link state machine, host against terminal, on both interpreters.

Two ``Link`` objects exchange bytes through a tiny in-memory wire with a manual clock, so
losses, replays and silences are chosen by the test, not by timing luck.
"""

import hashlib

from appliance import link as L
from appliance import protocol as p

IDENTITY = {"serial": "E6614103E7", "firmware": "0.2.0", "keypad": True, "display": "lcd16x2"}


class Rng:
    """Deterministic bytes for tests (the firmware uses the board's hardware source)."""

    def __init__(self, seed):
        self.state = hashlib.sha256(seed).digest()

    def __call__(self, n):
        out = b""
        while len(out) < n:
            self.state = hashlib.sha256(self.state).digest()
            out += self.state
        return out[:n]


class Wire:
    def __init__(self, keys=None, ltk=None):
        self.keys = {} if keys is None else keys
        self.now = 0
        self.host = L.Link(L.HOST, Rng(b"host"), lookup=self.keys.get)
        self.term = L.Link(L.TERMINAL, Rng(b"term"), identity=IDENTITY, ltk=ltk)
        self.host_events = []
        self.term_events = []
        self.to_host = []  # every chunk the terminal wrote (for replays)
        self.to_term = []
        self.drop_to_host = 0
        self.drop_to_term = 0

    def step(self, rounds=1, ms=10):
        for _ in range(rounds):
            self.now += ms
            self.host_events.extend(self.host.tick(self.now))
            self.term_events.extend(self.term.tick(self.now))
            out = self.host.take_output()
            if out:
                self.to_term.append(out)
                if self.drop_to_term:
                    self.drop_to_term -= 1
                else:
                    self.term_events.extend(self.term.feed(out, self.now))
            out = self.term.take_output()
            if out:
                self.to_host.append(out)
                if self.drop_to_host:
                    self.drop_to_host -= 1
                else:
                    for event in self.host.feed(out, self.now):
                        if event.kind == "paired":  # the box stores the key at once
                            self.keys[event.info] = bytes(event.body)
                        self.host_events.append(event)

    def kinds(self, events):
        return [e.kind for e in events]

    def messages(self, events):
        return [(e.ftype, bytes(e.body)) for e in events if e.kind == "message"]


def _paired():
    wire = Wire()
    wire.host.start(0)
    wire.step(3)
    assert wire.host.state == L.REFUSED
    wire.host.start_pairing(wire.now)
    wire.step(5)
    assert wire.term.pairing_code_shown
    wire.term.confirm_pairing(True)
    wire.step(60)
    assert wire.kinds(wire.host_events).count("paired") == 1
    wire.step(20)
    assert wire.host.up and wire.term.up
    return wire


def test_pairing_shows_the_same_code_and_gives_the_same_key():
    wire = _paired()
    host_code = [e.info for e in wire.host_events if e.kind == "pair_code"]
    term_code = [e.info for e in wire.term_events if e.kind == "pair_code"]
    assert host_code == term_code and len(host_code[0]) == 6
    assert wire.keys["E6614103E7"] == wire.term.ltk
    assert wire.host.peer["firmware"] == "0.2.0"


def test_no_key_without_keypad_confirmation():
    wire = Wire()
    wire.host.start(0)
    wire.step(3)
    wire.host.start_pairing(wire.now)
    wire.step(5)
    wire.term.confirm_pairing(False)
    wire.step(60)
    assert "paired" not in wire.kinds(wire.host_events)
    assert "pair_failed" in wire.kinds(wire.host_events)
    assert wire.term.ltk is None


def test_pairing_window_closes_when_nobody_answers():
    wire = Wire()
    wire.host.start(0)
    wire.step(3)
    wire.host.start_pairing(wire.now)
    wire.step(130, ms=1000)
    failed = [e.info for e in wire.host_events if e.kind == "pair_failed"]
    assert failed == ["pairing window closed"]


def test_unpaired_terminal_is_refused_and_gets_no_session():
    wire = Wire(ltk=b"K" * 32)  # the terminal thinks it is paired; the box does not know it
    wire.host.start(0)
    wire.step(5)
    assert wire.host.state == L.REFUSED and not wire.term.up
    refused = [e.info for e in wire.host_events if e.kind == "refused"]
    assert refused[0] == ("E6614103E7", "unpaired")
    assert "refused" in wire.kinds(wire.term_events)


def test_terminal_with_another_key_is_refused():
    wire = Wire(keys={"E6614103E7": b"A" * 32}, ltk=b"B" * 32)
    wire.host.start(0)
    wire.step(5)
    refused = [e.info for e in wire.host_events if e.kind == "refused"]
    assert refused[0] == ("E6614103E7", "bad-proof")
    assert not wire.host.up and not wire.term.up


def test_messages_both_ways_with_loss_and_retransmission():
    wire = _paired()
    wire.host.send(p.DISPLAY, b"Bonjour", wire.now)
    wire.drop_to_term = 1  # the first transmission is lost
    wire.step(40)
    assert wire.messages(wire.term_events) == [(p.DISPLAY, b"Bonjour")]
    assert wire.host.retransmissions >= 1
    wire.term.send(p.PIN_ENTERED, b"1234", wire.now)
    wire.step(1)
    wire.drop_to_term = 1  # the acknowledgement is lost: the terminal sends again
    wire.step(40)
    assert wire.messages(wire.host_events) == [(p.PIN_ENTERED, b"1234")]  # delivered once
    assert wire.term.idle and wire.host.idle


def test_replayed_reflected_and_forged_frames_are_refused():
    wire = _paired()
    wire.term.send(p.KEY, b"5", wire.now)
    wire.step(5)
    sealed = wire.to_host[-1]
    before = len(wire.messages(wire.host_events))
    refused = wire.host.rejected
    # Replay of a captured terminal frame, the host's own frame reflected back, a forged one.
    forged = bytearray(sealed)
    forged[len(forged) // 2] ^= 0x01
    for attack in (sealed, wire.to_term[-1], bytes(forged)):
        wire.host_events.extend(wire.host.feed(attack, wire.now))
    assert len(wire.messages(wire.host_events)) == before
    assert wire.host.rejected >= refused + 3
    assert wire.host.up  # the attacks did not tear the session down


def test_old_session_frames_do_not_open_in_a_new_one():
    wire = _paired()
    wire.term.send(p.KEY, b"1", wire.now)
    wire.step(5)
    old = list(wire.to_host)
    wire.host.start(wire.now)  # a new handshake: new nonces, new keys
    wire.step(20)
    assert wire.host.up
    before = len(wire.messages(wire.host_events))
    for chunk in old:
        wire.host_events.extend(wire.host.feed(chunk, wire.now))
    assert len(wire.messages(wire.host_events)) == before


def test_heartbeats_keep_the_link_and_silence_drops_it():
    wire = _paired()
    wire.step(50, ms=200)  # 10 s with nothing to say
    assert wire.host.up and wire.term.up
    wire.drop_to_host = 10**6  # the cable is cut
    wire.drop_to_term = 10**6
    wire.step(50, ms=100)
    assert wire.kinds(wire.host_events).count("down") == 1
    assert not wire.term.up
    assert wire.host.state == L.HELLO_SENT  # the host looks for the terminal again
    wire.drop_to_host = wire.drop_to_term = 0
    wire.step(60)
    assert wire.host.up and wire.term.up  # plugged back: a new session


def test_retransmissions_are_bounded():
    wire = _paired()
    wire.drop_to_term = 10**6
    wire.host.send(p.DISPLAY, b"x", wire.now)
    wire.step(L.RETRIES * L.RETRANSMIT_MS // 10 + 5)
    assert wire.host.retransmissions == L.RETRIES - 1
    assert "down" in wire.kinds(wire.host_events)


def test_unpairing_on_the_box_refuses_the_terminal():
    wire = _paired()
    wire.keys.clear()
    wire.host.start(wire.now)
    wire.step(10)
    assert not wire.host.up
    assert wire.host.state == L.REFUSED


def test_a_stranger_cannot_pair_without_the_keypad():
    # A device on the cable sends PAIR_START: the terminal shows a code but keeps its key
    # until someone confirms on the keypad.
    wire = _paired()
    key = wire.term.ltk
    wire.host.start_pairing(wire.now)
    wire.step(20)
    assert wire.term.pairing_code_shown
    assert wire.term.ltk == key
