"""A counter terminal's QR scanner module, end to end: the firmware on the real MicroPython
interpreter relays the module's UART lines as SCAN frames over its pty link, the box's driver
(pyserial) hands them to the daemon, and they land in the bound counter's scans exactly like a
serial scanner's — classified, in its last scans and its scan event stream (mTLS API). A scan
from a terminal bound to no counter is not dropped silently: the reader event stream says
which terminal (without the patient's text). Terminal up/down are on that stream too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from drivers.sim.terminal import SimulatedTerminal
from drivers.terminal import TerminalKeyStore
from tests.hostd_support import Daemon, start_daemon
from tests.test_terminal_unlock import pair_beforehand

C1 = "Comptoir 1"
ORD = "ORD1:4445556667778889990042"


@dataclass
class Env:
    daemon: Daemon
    bound: SimulatedTerminal
    unbound: SimulatedTerminal
    c1: httpx.Client


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    base = tmp_path_factory.mktemp("terminal-scans")
    bound = SimulatedTerminal(base / "ttyTERM0")
    unbound = SimulatedTerminal(base / "ttyTERM1", serial="E66141040999")
    terminals = (bound, unbound)
    try:
        keys = {}
        for terminal in terminals:
            terminal.plug()
            (base / terminal.serial).mkdir()  # the technician's key file, one per terminal
            keys[terminal.serial] = pair_beforehand(base / terminal.serial, terminal)
        daemon = start_daemon(base, watcher=False, terminals={
            "ports": [str(base / "ttyTERM*")],
            "bind": {bound.serial: {"counter": C1, "client": C1}},
        })
        store = TerminalKeyStore(daemon.state / "terminals.json")
        for serial, key in keys.items():
            store.put(serial, key)
        try:
            env = Env(daemon, bound, unbound, daemon.client(C1))
            wait_for(lambda: sum(t["connected"] for t in
                                 env.c1.get("/v1/status").json()["terminals"]) == 2, 30)
            yield env
        finally:
            daemon.stop()
    finally:
        for terminal in terminals:
            terminal.unplug()


def wait_for(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError("condition not met")


def scans_url(counter: str, tail: str = "") -> str:
    return httpx.URL(f"/v1/counters/{counter}/scans{tail}").raw_path.decode()


def stream(http: httpx.Client, path: str, seconds: float,
           **params: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, event, data) of every server-sent event within ``seconds``."""
    out = []
    headers = {}
    if "last_event_id" in params:
        headers["Last-Event-ID"] = params.pop("last_event_id")
    with http.stream("GET", path, params={"max_seconds": seconds, **params},
                     headers=headers) as response:
        assert response.status_code == 200
        ident, event = "", ""
        for line in response.iter_lines():
            if line.startswith("id: "):
                ident = line[4:]
            elif line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                out.append((ident, event, json.loads(line[6:])))
    return out


def reader_events_since(http: httpx.Client, last_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [(e, d) for _i, e, d in stream(http, "/v1/events", 0.5, last_event_id=last_id)]


def reader_head(http: httpx.Client) -> str:
    ((ident, name, _data),) = stream(http, "/v1/events", 0.2)
    assert name == "snapshot"
    return ident


def test_a_scan_on_the_terminal_is_the_bound_counters_ordonnance(env: Env) -> None:
    before = env.c1.get(scans_url(C1), params={"limit": 1}).json()
    after = before[0]["id"] if before else 0
    env.bound.scan(ORD)
    source = f"terminal-{env.bound.serial}"
    (last, *_) = wait_for(lambda: [e for e in env.c1.get(scans_url(C1)).json()
                                   if e["id"] > after and e["type"] == "scan"])
    assert last["source"] == source
    assert last["counter"] == C1
    assert last["scan"]["kind"] == "ordonnance"
    assert last["scan"]["text"] == ORD
    assert last["scan"]["prescription_id"] == ORD[len("ORD1:"):]
    # The counter's scan event stream carries the same event (resumable from ``after``).
    events = stream(env.c1, scans_url(C1, "/events"), 0.5, after=after)
    scans = [d for _i, name, d in events if name == "scan"]
    assert [(d["source"], d["scan"]["kind"]) for d in scans] == [(source, "ordonnance")]


def test_the_same_ordonnance_again_at_the_terminal_raises_the_guard(env: Env) -> None:
    text = "ORD1:1112223334445556667778"
    after = env.c1.get(scans_url(C1), params={"limit": 1}).json()[0]["id"]
    env.bound.scan(text)
    wait_for(lambda: env.c1.get(scans_url(C1), params={"limit": 1}).json()[0]["id"] > after)
    mid = env.c1.get(scans_url(C1), params={"limit": 1}).json()[0]["id"]
    env.bound.scan(text)
    wait_for(lambda: env.c1.get(scans_url(C1), params={"limit": 1}).json()[0]["id"] > mid)
    events = stream(env.c1, scans_url(C1, "/events"), 0.5, after=mid)
    guards = [d for _i, name, d in events if name == "guard"]
    assert len(guards) == 1
    assert guards[0]["alert"]["prescription_id"] == text[len("ORD1:"):]


def test_an_unknown_code_is_kept_raw_not_dropped(env: Env) -> None:
    after = env.c1.get(scans_url(C1), params={"limit": 1}).json()[0]["id"]
    env.bound.scan("HELLO-42")
    (last,) = wait_for(lambda: [e for e in env.c1.get(scans_url(C1)).json() if e["id"] > after])
    assert last["scan"]["kind"] == "unknown"
    assert last["scan"]["text"] == "HELLO-42"
    assert last["scan"]["reason"] == "no-rule"


def test_a_scan_from_an_unbound_terminal_is_a_warning_not_a_counters_scan(env: Env) -> None:
    head = reader_head(env.c1)
    before = env.c1.get(scans_url(C1), params={"limit": 1}).json()[0]["id"]
    env.unbound.scan(ORD)
    events = wait_for(lambda: [d for e, d in reader_events_since(env.c1, head)
                               if e == "terminal-scan-unbound"])
    assert events[0]["terminal"] == env.unbound.serial
    assert events[0]["bytes"] == len(ORD)
    assert ORD not in json.dumps(events)  # the patient's code goes to no counter
    assert env.c1.get(scans_url(C1), params={"limit": 1}).json()[0]["id"] == before


def test_terminal_unplug_and_replug_are_reader_and_scan_events(env: Env) -> None:
    head = reader_head(env.c1)
    after = env.c1.get(scans_url(C1), params={"limit": 1}).json()[0]["id"]
    env.bound.unplug()
    env.bound.plug()
    wanted = ["terminal-disconnected", "terminal-connected"]

    def terminal_events() -> list[tuple[str, dict[str, Any]]]:
        return [(e, d) for e, d in reader_events_since(env.c1, head)
                if e in wanted and d["terminal"] == env.bound.serial]

    seen = wait_for(lambda: (lambda s: s if [e for e, _ in s] == wanted else None)(
        terminal_events()), 30)
    assert all(d["counter"] == C1 for _e, d in seen)
    devices = [d for _i, name, d in stream(env.c1, scans_url(C1, "/events"), 0.5, after=after)
               if name == "device"]
    assert [d["detail"] for d in devices][-2:] == ["disconnected", "connected"]
    assert {d["source"] for d in devices} == {f"terminal-{env.bound.serial}"}
