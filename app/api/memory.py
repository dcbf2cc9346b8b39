"""The glibc heap: kept while requests come, handed back to the OS once they stop.

Every verify allocates and frees the same large buffers (decoded images, resized copies, the detectors'
activations). With glibc's defaults a freed buffer can go back to the OS and be faulted in, zeroed, by the
next request: 6,300 page faults and 9-11 ms of kernel time per 640 px verify on one core when a lane thread
had its own arena, and 15-30 ms when the heap was trimmed after every request (docs/PERFORMANCE.md,
"The heap"). So one arena with fixed thresholds keeps the freed heap while requests come (0-160 faults per
verify, not thousands), and `malloc_trim(0)` hands it all back once the service has been idle for a moment, or
at a moment without requests every so often under steady traffic (app/api/admission.py): RSS after a burst
still recovers (tests/server/test_hostile.py), and back-to-back requests do not pay for it.
"""

import ctypes
import ctypes.util

_LIBC = ctypes.CDLL(ctypes.util.find_library("c"))
_MALLOPT = getattr(_LIBC, "mallopt", None)  # glibc only: elsewhere both functions do nothing
_MALLOC_TRIM = getattr(_LIBC, "malloc_trim", None)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's <malloc.h>
HEAP = {
    M_ARENA_MAX: 1,  # a thread's own arena is unmapped whenever it empties, whatever the thresholds
    M_MMAP_THRESHOLD: 32 << 20,  # glibc's own ceiling for it; only larger buffers are mapped and unmapped
    M_TRIM_THRESHOLD: 256 << 20,  # no trimming in passing: the idle trim below returns the heap
}


def configure_heap() -> bool:
    """Call before the service's threads start: a thread that already has an arena keeps it. (Importing numpy,
    onnxruntime and OpenCV starts one pool thread each; they take nothing from this heap per request, and
    tests/e2e/test_memory.py measures the served process.) False when glibc refused a setting or is absent."""
    if _MALLOPT is None:
        return False
    applied = [_MALLOPT(parameter, value) == 1 for parameter, value in HEAP.items()]  # each tried, whatever failed
    return all(applied)


def release_free_heap() -> None:
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
