"""APDU round trip through the real PC/SC stack, and what our driver layers add to it.

A trivial APDU (READ BINARY, answered at once: zero card timing) goes pyscard → libpcsclite →
a private pcscd → libifdvpcd.so → TCP → the vpcd card side → a minimal card, and back.
Measured in the same run, interleaved in rounds so machine noise hits every method alike:

* ``scard``     raw ``smartcard.scard.SCardTransmit`` (the floor under everything);
* ``pyscard``   pyscard's ``CardConnection.transmit`` (the baseline the brief names);
* ``pcsc``      our ``PcscConnection.transmit`` (bytes in, bytes out, error mapping);
* ``channel``   ``ApduChannel(PcscConnection).transceive(Command)`` (what card drivers use).

The ratio column divides each median by pyscard's median. Loops are bounded in count and in
time (``--max-seconds`` per method and round).

    .venv/bin/python -m bench.apdu [--apdus 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

APDU = bytes.fromhex("00B0000004")
MAX_APDUS = 100_000


class _TrivialCard:
    """Answers every APDU with 4 bytes and 9000, at once."""

    atr = bytes.fromhex("3B80800101")

    def power_on(self) -> None:
        pass

    def power_off(self) -> None:
        pass

    def process(self, apdu: bytes) -> bytes:
        return b"\x01\x02\x03\x04\x90\x00"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed(send: Callable[[], object], count: int, max_seconds: float) -> list[float]:
    samples: list[float] = []
    stop_at = time.perf_counter() + max_seconds
    for _ in range(count):
        t0 = time.perf_counter()
        send()
        t1 = time.perf_counter()
        samples.append(t1 - t0)
        if t1 > stop_at:
            break
    return samples


def _scard_round(reader: str, apdus: int, max_seconds: float) -> list[float]:
    from smartcard import scard

    _, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    _, card, proto = scard.SCardConnect(
        ctx, reader, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T1
    )
    raw = list(APDU)
    try:
        return _timed(lambda: scard.SCardTransmit(card, proto, raw), apdus, max_seconds)
    finally:
        scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(ctx)


def _pyscard_round(reader: str, apdus: int, max_seconds: float) -> list[float]:
    from smartcard.System import readers

    conn = next(r for r in readers() if str(r) == reader).createConnection()
    conn.connect()
    raw = list(APDU)
    try:
        return _timed(lambda: conn.transmit(raw), apdus, max_seconds)
    finally:
        conn.disconnect()
        conn.release()


def _ours_round(reader: str, apdus: int, max_seconds: float) -> tuple[list[float], list[float]]:
    from drivers.apdu import ApduChannel, Command
    from drivers.pcsc import PcscConnection

    command = Command(0x00, 0xB0, 0x00, 0x00, le=4)
    with PcscConnection(reader, exclusive=True) as conn:
        bare = _timed(lambda: conn.transmit(APDU), apdus, max_seconds)
        channel = ApduChannel(conn)
        layered = _timed(lambda: channel.transceive(command), apdus, max_seconds)
    return bare, layered


def run(apdus: int, rounds: int, max_seconds: float) -> dict[str, list[float]]:
    from drivers.pcsc import wait_for_card
    from drivers.sim.pcscd import PrivatePcscd

    results: dict[str, list[float]] = {"scard": [], "pyscard": [], "pcsc": [], "channel": []}
    with tempfile.TemporaryDirectory(prefix="comptoir-apdu-") as tmp:
        pcscd = PrivatePcscd(Path(tmp) / "pcscd", readers=1)
        pcscd.use_in_this_process()
        with pcscd:
            reader = pcscd.reader_names()[0]
            pcscd.slot(0).insert(_TrivialCard())
            if not wait_for_card(reader, True, 10):
                raise SystemExit("pcscd did not see the simulated card")
            for _ in range(rounds):
                results["scard"] += _scard_round(reader, apdus, max_seconds)
                results["pyscard"] += _pyscard_round(reader, apdus, max_seconds)
                bare, layered = _ours_round(reader, apdus, max_seconds)
                results["pcsc"] += bare
                results["channel"] += layered
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apdus", type=int, default=2000, help="APDUs per method per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-seconds", type=float, default=20.0)
    args = parser.parse_args()
    if not 1 <= args.apdus * args.rounds <= MAX_APDUS:
        raise SystemExit(f"apdus x rounds must be 1..{MAX_APDUS}")
    results = run(args.apdus, args.rounds, args.max_seconds)
    base = statistics.median(results["pyscard"])
    print(f"trivial APDU round trip, {args.rounds} rounds x {args.apdus} APDUs per method")
    print(f"{'method':<9} {'n':>7} {'p50 ms':>8} {'p99 ms':>8} {'APDU/s':>8} {'p50/pyscard':>12}")
    for name, samples in results.items():
        p50 = statistics.median(samples)
        rate = len(samples) / sum(samples)
        p99 = _percentile(samples, 0.99)
        print(
            f"{name:<9} {len(samples):>7} {p50 * 1e3:>8.3f} {p99 * 1e3:>8.3f}"
            f" {rate:>8.0f} {p50 / base:>12.2f}"
        )
    overhead = statistics.median(results["channel"]) - base
    print(f"driver overhead (channel - pyscard, p50): {overhead * 1e6:+.1f} µs per APDU")


if __name__ == "__main__":
    main()
