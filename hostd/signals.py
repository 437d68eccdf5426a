"""One rule for every long-running command: SIGTERM and SIGHUP stop it as Ctrl-C does.

A service manager stops a program with SIGTERM and a closed terminal sends SIGHUP; both must
run the same clean-up as SIGINT (the ``finally`` blocks that stop the children a command
started), never leave them behind as orphans. Python only turns SIGINT into
``KeyboardInterrupt``; :func:`interrupt_on_stop_signals` does the same for the other two.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def interrupt_on_stop_signals() -> Iterator[None]:
    """Inside the block, SIGTERM and SIGHUP raise ``KeyboardInterrupt`` in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous[int(sig)] = signal.signal(sig, _interrupt)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
