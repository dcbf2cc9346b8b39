"""A local process's CPU time and memory, read from /proc (Linux), for the bench and the capacity guide."""

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name (which may hold spaces), numbered from 0 = state."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def minor_faults(pid: int) -> int:
    """Page faults the process has taken so far that needed no disk: each maps (and zeroes) a fresh page."""
    return int(_stat(pid)[7])


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident memory (or its high-water mark, `VmHWM`) in MiB; NaN when the field is absent."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss(pid: int) -> None:
    """Restart the kernel's high-water mark (VmHWM), so the next peak measured is a peak of its own."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
