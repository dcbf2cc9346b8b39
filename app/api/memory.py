"""Hand the heap a burst of requests freed back to the operating system.

glibc keeps freed memory in its per-thread arenas (body chunks, multipart parts, decoded images and model
activations under its mmap threshold, Python objects): RSS stayed 80-170 MiB above its level before a
burst of large uploads or of no-face frames, and MALLOC_ARENA_MAX=2 did not help. malloc_trim(0) returns
every arena's free pages. Measured after a verify: 1.3 ms, and no change in the next verify's CPU (30
alternated runs, median 161 ms with, 166 without), so it simply runs whenever no request holds a body.
"""

import ctypes
import ctypes.util

_MALLOC_TRIM = getattr(ctypes.CDLL(ctypes.util.find_library("c")), "malloc_trim", None)  # glibc only


def release_free_heap() -> None:
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
