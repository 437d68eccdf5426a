"""How much time a Vitale read adds on top of the card itself.

Baseline, measured in the same run: the time the simulated card spends answering (its
realistic per-APDU and per-READ-BINARY costs, summed over the APDUs the read sent). Measured:
the wall time of ``VitaleCard.read()`` over a direct transport and, with ``--pcscd``, over the
real stack (pyscard → a private pcscd → vpcd → the sim card). The ratio says how close the
driver and the stack are to the card's own limit (1.00 = no overhead).

    .venv/bin/python -m bench.vitale_read [--rounds 20] [--pcscd]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from drivers.cards.vitale import VitaleCard
from drivers.sim.timing import Timing
from drivers.sim.vitale_app import VitaleApplication
from drivers.sim.vitale_config import load_vitale_file

CARDS = Path(__file__).resolve().parent.parent / "drivers" / "sim" / "cards"
MAX_ROUNDS = 1000


class _Counting:
    """Direct transport that also counts what the card was asked to do."""

    def __init__(self, card: VitaleApplication) -> None:
        self.card = card
        self.apdus = 0
        self.reads = 0

    def transmit(self, apdu: bytes) -> bytes:
        self.apdus += 1
        self.reads += apdu[1] == 0xB0
        return self.card.process(apdu)


def _card_time(timing: Timing, apdus: int, reads: int) -> float:
    return apdus * timing.apdu_s + reads * timing.operation_s.get("read", 0.0)


def _median_s(fn: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--pcscd", action="store_true", help="also read through a private pcscd")
    args = parser.parse_args()
    rounds = max(1, min(args.rounds, MAX_ROUNDS))
    timing = Timing.realistic()

    print(f"{'card':28} {'APDUs':>5} {'card ms':>8} {'direct ms':>9} {'ratio':>6}", end="")
    print(f" {'pcscd ms':>9} {'ratio':>6}" if args.pcscd else "")
    rows = []
    for path in sorted(CARDS.glob("vitale-*.toml")):
        content = load_vitale_file(path).content
        counting = _Counting(VitaleApplication(content, timing))
        VitaleCard(counting).read()
        apdus, baseline = counting.apdus, _card_time(timing, counting.apdus, counting.reads)
        direct = _median_s(VitaleCard(counting).read, rounds)
        rows.append((path.stem, apdus, baseline, direct, content))

    pcscd_times: dict[str, float] = {}
    if args.pcscd:
        from drivers.pcsc import PcscConnection, wait_for_card
        from drivers.sim.pcscd import PrivatePcscd

        with (
            tempfile.TemporaryDirectory(prefix="cbench-") as tmp,
            PrivatePcscd(Path(tmp), readers=1) as pcscd,
        ):
            pcscd.use_in_this_process()
            pcscd.start()
            reader = pcscd.reader_names()[0]
            for name, _, _, _, content in rows:
                pcscd.slot(0).insert(VitaleApplication(content, timing))
                if not wait_for_card(reader, True, 5.0):
                    raise SystemExit(f"pcscd did not see the card in {reader}")
                with PcscConnection(reader) as conn:
                    card = VitaleCard(conn)
                    card.read()
                    pcscd_times[name] = _median_s(card.read, rounds)
                pcscd.slot(0).remove()
                wait_for_card(reader, False, 5.0)

    for name, apdus, baseline, direct, _ in rows:
        line = f"{name:28} {apdus:5d} {baseline * 1e3:8.1f} {direct * 1e3:9.1f}"
        line += f" {direct / baseline:6.2f}"
        if name in pcscd_times:
            line += f" {pcscd_times[name] * 1e3:9.1f} {pcscd_times[name] / baseline:6.2f}"
        print(line)
    print(
        f"median of {rounds} reads per card; Timing.realistic(): {timing.apdu_s * 1e3:.0f} ms "
        f"per APDU + {timing.operation_s['read'] * 1e3:.0f} ms per READ BINARY"
    )


if __name__ == "__main__":
    main()
