"""Give freed heap memory back to the system, so the daemon's RSS returns to its baseline.

glibc's allocator keeps memory freed by the Python process in its arenas (one per thread that
allocated) instead of returning it: after a burst — parallel 50 MB bodies refused at their
first kilobytes, TLS buffers of hundreds of attackers — the daemon's RSS stayed ~35 MB above
its baseline for good (measured by ``bench/soak.py``: 102 → 138 MB, the unit's ``MemoryMax``
being 256 MB). ``malloc_trim(0)`` hands the free pages back (the soak: 102 → 113 MB after the
attacks). It takes a few milliseconds, so the housekeeping loop calls it every
:data:`TRIM_EVERY_S` on a worker thread. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

TRIM_EVERY_S = 10.0


def _load_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL("libc.so.6")  # by name: find_library would spawn ldconfig
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc (musl, macOS): nothing to hand back this way
    return trim


_TRIM = _load_trim()


def give_back_free_memory() -> bool:
    """Returns whether any memory was handed back."""
    return bool(_TRIM(0)) if _TRIM is not None else False
