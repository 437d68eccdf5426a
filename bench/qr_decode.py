"""QR decoders on synthetic counter-camera frames: decode rate, false positives, time per frame.

Every candidate (``drivers.scan.decode.candidates()``) runs on the same frames in one run
(``bench/qr_frames.py``: seeded, ≥ 300 frames at 720p and 1080p). Per resolution and
candidate it prints: codes decoded / codes present, frames fully read, wrong texts (a text that
is in no code of the frame) and reads on empty frames (false positives), and ms per frame p50
and p99. The baseline is zxing-cpp's single pass, measured in the same run; the ratio column
is each candidate's decode rate and p50 against it. Targets for the default decoder: ≥ 98 %
decoded at 720p, 0 false positives, ≤ 20 ms p50 per 720p frame.

    .venv/bin/python -m bench.qr_decode [--seed 8] [--frames720 240] [--frames1080 120]
        [--only NAME] [--save DIR] [--misses]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from bench.qr_frames import Frame, generate
from drivers.scan.decode import Decoder, candidates

BASELINE = "zxing-cpp single pass"


def _zbar() -> Decoder | None:
    """ZBar through pyzbar (dev dependency, Debian libzbar0): another decoder PyPI installs."""
    try:
        from pyzbar import pyzbar
    except (ImportError, OSError):  # OSError: libzbar0 missing
        return None

    def decode(frame: np.ndarray) -> list[str]:
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        found = pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE])
        return list(dict.fromkeys(s.data.decode("utf-8", "replace") for s in found))

    return decode
MAX_FRAMES = 2000


@dataclass
class Tally:
    codes: int = 0
    decoded: int = 0
    frames: int = 0
    frames_full: int = 0
    wrong: int = 0
    empty_frames: int = 0
    false_positives: int = 0
    ms: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [decoded, codes]

    def rate(self) -> float:
        return self.decoded / self.codes if self.codes else 0.0

    def p(self, q: float) -> float:
        ordered = sorted(self.ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _run(decoder: Decoder, frame: Frame, tally: Tally) -> None:
    start = time.perf_counter()
    texts = decoder(frame.image)
    tally.ms.append((time.perf_counter() - start) * 1000)
    tally.frames += 1
    if not frame.expected:
        tally.empty_frames += 1
        tally.false_positives += len(texts)
        return
    hits = [t for t in frame.expected if t in texts]
    tally.codes += len(frame.expected)
    tally.decoded += len(hits)
    tally.frames_full += len(hits) == len(frame.expected)
    kind = tally.by_kind.setdefault(frame.kind, [0, 0])
    kind[0] += len(hits)
    kind[1] += len(frame.expected)
    tally.wrong += sum(t not in frame.expected for t in texts)
    if len(hits) < len(frame.expected):
        tally.misses.append(frame.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--frames720", type=int, default=240)
    parser.add_argument("--frames1080", type=int, default=120)
    parser.add_argument("--only", action="append", help="candidate name prefix (repeatable)")
    parser.add_argument("--save", type=Path, help="write the frames as JPEG files to this folder")
    parser.add_argument("--misses", action="store_true", help="list the frames each one missed")
    args = parser.parse_args()
    counts = {"720p": max(0, min(args.frames720, MAX_FRAMES)),
              "1080p": max(0, min(args.frames1080, MAX_FRAMES))}
    every = candidates()
    zbar = _zbar()
    if zbar is not None:
        every["zbar (pyzbar)"] = zbar
    else:
        print("zbar (pyzbar) not installed: skipped")
    decoders = {name: fn for name, fn in every.items()
                if not args.only or any(name.startswith(o) for o in args.only)}

    frames = list(generate(args.seed, counts))
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for f in frames:
            cv2.imwrite(str(args.save / f"{f.name}.jpg"), f.image)
    print(f"seed {args.seed}: {len(frames)} frames "
          f"({', '.join(f'{n} at {r}' for r, n in counts.items())}), "
          f"{sum(len(f.expected) for f in frames)} codes, "
          f"{sum(not f.expected for f in frames)} empty frames")

    tallies: dict[tuple[str, str], Tally] = {}
    # Interleave candidates frame by frame so machine noise hits them all alike.
    for frame in frames:
        for name, decoder in decoders.items():
            _run(decoder, frame, tallies.setdefault((name, frame.resolution), Tally()))

    header = (f"{'res':6} {'decoder':40} {'decoded':>9} {'rate':>7} {'frames':>8} "
              f"{'wrong':>5} {'FP':>3} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'rate/base':>9} {'p50/base':>8}")
    print(header)
    for res in counts:
        base = tallies.get((BASELINE, res))
        for name in decoders:
            t = tallies.get((name, res))
            if t is None:
                continue
            rate_ratio = t.rate() / base.rate() if base and base.rate() else float("nan")
            p50_ratio = t.p(0.5) / base.p(0.5) if base and base.p(0.5) else float("nan")
            print(f"{res:6} {name:40} {t.decoded:4}/{t.codes:<4} {100 * t.rate():6.1f}% "
                  f"{t.frames_full:3}/{t.frames - t.empty_frames:<4} {t.wrong:5} "
                  f"{t.false_positives:3} {t.p(0.5):7.1f} {t.p(0.99):7.1f} "
                  f"{rate_ratio:9.2f} {p50_ratio:8.2f}")
            kinds = "  ".join(f"{k} {d}/{n}" for k, (d, n) in sorted(t.by_kind.items()))
            print(f"       by kind: {kinds}")
            if args.misses and t.misses:
                print(f"       missed: {' '.join(t.misses)}")
    default = next(iter(decoders.items()))[0] if decoders else None
    t720 = tallies.get((default, "720p")) if default else None
    if default and default.startswith("default") and t720:
        ok = t720.rate() >= 0.98 and t720.false_positives == 0 and t720.wrong == 0 \
            and t720.p(0.5) <= 20.0
        print(f"default decoder at 720p: {100 * t720.rate():.1f} % decoded, "
              f"{t720.false_positives + t720.wrong} false reads, p50 {t720.p(0.5):.1f} ms, "
              f"median of all frames {statistics.median(t720.ms):.1f} ms -> "
              f"targets {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
