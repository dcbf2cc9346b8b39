"""Wrong API keys are throttled per client address: guessing costs time, and is seen.

Keys are 256-bit random, so guessing cannot succeed; throttling keeps a guesser from spending the
service's CPU and log volume, and makes it visible (`faceseal_auth_throttled_total`, alert
FacesealKeyGuessing). A throttled address is refused before any key is compared, so it learns nothing,
not even from a right key. IPv6 peers count per /64, the block one subscriber is usually given.
"""

import ipaddress
import time
from collections import OrderedDict

MAX_PEERS = 65_536  # addresses remembered (least recently failing forgotten first): bounded memory


def peer_key(host: str) -> str:
    """The unit that is throttled: an IPv4 address (also when IPv4-mapped) or an IPv6 /64."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP (a test client's name)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class FailedAuthThrottle:
    """A bucket of `failures` wrong keys per address, refilled over `window_s`. Used on the event loop only."""

    def __init__(self, failures: int, window_s: float) -> None:
        self._capacity = float(failures)
        self._rate = failures / window_s
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (allowance, at)

    def _allowance(self, key: str, now: float) -> float:
        allowance, at = self._buckets.get(key, (self._capacity, now))
        return min(self._capacity, allowance + (now - at) * self._rate)

    def retry_after(self, host: str) -> float:
        """0 when this address may present a key, else seconds until it may."""
        key, now = peer_key(host), time.monotonic()
        allowance = self._allowance(key, now)
        if allowance >= self._capacity:
            self._buckets.pop(key, None)  # fully refilled: nothing left to remember
        return 0.0 if allowance >= 1 else (1 - allowance) / self._rate

    def failed(self, host: str) -> bool:
        """Count one wrong key; True when that used up the address's allowance (it is throttled now)."""
        key, now = peer_key(host), time.monotonic()
        allowance = self._allowance(key, now) - 1
        self._buckets[key] = (allowance, now)
        self._buckets.move_to_end(key)
        if len(self._buckets) > MAX_PEERS:
            self._buckets.popitem(last=False)
        return allowance < 1
