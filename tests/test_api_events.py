"""Server-sent events over real HTTPS with a client certificate: ids, Last-Event-ID replay,
and a ``resync`` event — never a silent gap — for a client the ring no longer covers.

Events come from real card insertions and removals (vpcd slots seen by pcscd, then by the
daemon's reader watcher)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from hostd.events import EventLog
from tests.api_cards_support import wait_for_kind
from tests.hostd_support import Daemon, start_daemon, vitale_card
from tests.rig import PcscRig


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, pcsc_session_rig: PcscRig) -> Iterator[Daemon]:
    d = start_daemon(tmp_path_factory.mktemp("hostd-events"))
    try:
        yield d
    finally:
        d.stop()


@dataclass(frozen=True)
class Sse:
    id: str | None
    name: str
    data: dict[str, Any]


def read(http: httpx.Client, count: int, last_event_id: str | None = None,
         max_seconds: float = 3) -> list[Sse]:
    """Reads up to ``count`` events (or until the stream ends), then disconnects."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    events: list[Sse] = []
    fields: dict[str, str] = {}
    with http.stream("GET", "/v1/events", params={"max_seconds": max_seconds},
                     headers=headers) as stream:
        assert stream.status_code == 200
        for line in stream.iter_lines():
            if line.startswith(":"):
                continue
            if line:
                key, _, value = line.partition(": ")
                fields[key] = value
                continue
            if "event" in fields:
                events.append(Sse(fields.get("id"), fields["event"], json.loads(fields["data"])))
            fields = {}
            if len(events) >= count:
                break
    return events


def insert_and_remove(rig: PcscRig, http: httpx.Client, times: int) -> str:
    reader = ""
    for _ in range(times):
        reader = rig.insert(1, vitale_card())
        wait_for_kind(http, reader, "vitale")
        rig.remove(1)
        wait_for_kind(http, reader, None)
    return reader


def test_reconnecting_with_last_event_id_gets_what_was_missed(
    daemon: Daemon, pcsc_rig: PcscRig
) -> None:
    http = daemon.client("Comptoir SSE")
    [snapshot] = read(http, 1)
    assert snapshot.name == "snapshot" and snapshot.id is not None
    assert isinstance(snapshot.data["readers"], list)
    # Disconnected: a card comes and goes.
    reader = insert_and_remove(pcsc_rig, http, 1)
    missed = read(http, 2, snapshot.id)
    assert [(e.name, e.data["reader"]) for e in missed] == [
        ("card-inserted", reader), ("card-removed", reader)]
    assert missed[0].data["kind"] == "vitale"
    epoch, _, seq = snapshot.id.rpartition("-")
    assert [e.id for e in missed] == [f"{epoch}-{int(seq) + 1}", f"{epoch}-{int(seq) + 2}"]
    # Up to date: resuming from the last one sends nothing again.
    assert read(http, 1, missed[-1].id, max_seconds=1) == []


def test_a_client_too_far_behind_gets_resync_then_the_stream_goes_on(
    daemon: Daemon, pcsc_rig: PcscRig
) -> None:
    hub = daemon.box.devices.hub
    hub.events = EventLog(capacity=3)  # a small ring, so a few real card events overflow it
    http = daemon.client("Comptoir SSE 2")
    [snapshot] = read(http, 1)
    reader = insert_and_remove(pcsc_rig, http, 2)  # four events: the first is gone
    resync, *_ = read(http, 1, snapshot.id)
    assert resync.name == "resync" and resync.id == f"{hub.events.epoch}-4"
    state = {r["name"]: r for r in resync.data["readers"]}
    assert state[reader]["card_present"] is False  # the state the client must reload
    # From the resync on, nothing is lost again.
    pcsc_rig.insert(1, vitale_card())
    wait_for_kind(http, reader, "vitale")
    [inserted] = read(http, 1, resync.id)
    assert (inserted.name, inserted.id) == ("card-inserted", f"{hub.events.epoch}-5")
    pcsc_rig.remove(1)
    # An id from another run of the daemon cannot be honoured either: resync.
    [other] = read(http, 1, "0badc0de-3")
    assert other.name == "resync"
