"""The C heap of a long-running agent: keep big freed blocks from staying resident.

glibc's malloc raises its mmap threshold each time a big block is freed (up
to 32 MB), after which camera frames (~1.2 MB each) and the allowlist's
temporary buffers come from the heap and what is freed stays in the process;
it also gives each thread that allocates its own arena. Measured with the gate
and a camera (bench/edge_memory.py): ~2 MB less resident with a fixed 128 KiB
threshold and two arenas. Both are no-ops where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache
from typing import Any, Final

log = logging.getLogger(__name__)

#: mallopt() parameters, from glibc's malloc.h
_M_MMAP_THRESHOLD: Final = -3
_M_ARENA_MAX: Final = -8
#: blocks this big or bigger are mapped on their own and unmapped when freed
MMAP_THRESHOLD_BYTES: Final = 128 * 1024
ARENAS: Final = 2


@cache
def _libc() -> Any | None:
    name = ctypes.util.find_library("c")
    return None if name is None else ctypes.CDLL(name)


def limit_heap_growth() -> bool:
    """Fix malloc's mmap threshold and arena count (glibc); True if it took effect."""
    libc = _libc()
    mallopt = None if libc is None else getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_ARENA_MAX, ARENAS)
    )
    if not done:
        log.warning("mallopt refused the heap settings; memory use may be higher")
    return done


def release_freed_memory() -> None:
    """Hand memory freed after building a big index back to the OS (glibc only).

    Loading 100k entries frees about as much as it keeps; without this the
    freed part stays in the process's heap and counts in its RSS.
    """
    libc = _libc()
    trim = None if libc is None else getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim(0)
