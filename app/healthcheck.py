"""`python -m app.healthcheck`: the image's HEALTHCHECK; exit 0 when /readyz answers 200 where `serve` listens.

The address comes from the serving process's own command line (`/proc/1/cmdline`: the entrypoint is
PID 1), so a container started with `--port 9000` is probed on 9000. Nothing is written (the container's
root is read-only) and nothing beyond the standard library is imported (this runs every 10 s).
"""

import argparse
import http.client
import ipaddress
import sys
from pathlib import Path

from app.listen import add_listen_arguments


def probe_host(host: str) -> str:
    """Where to reach `host` from inside: a server bound to every address is probed on loopback."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "127.0.0.1"  # a name
    if address.is_unspecified:
        return "::1" if address.version == 6 else "127.0.0.1"
    return host


def listen_address(command: list[str]) -> tuple[str, int]:
    """The host to probe and the port `serve` binds, given the serving process's argv."""
    parser = argparse.ArgumentParser(add_help=False)
    add_listen_arguments(parser)
    options, _ = parser.parse_known_args(command[command.index("serve") + 1:] if "serve" in command else [])
    return probe_host(options.host), options.port


def ready(host: str, port: int, timeout_s: float = 2.0) -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.healthcheck", description=__doc__)
    parser.add_argument("--pid", type=int, default=1, help="the serving process (default 1: the entrypoint)")
    args = parser.parse_args(argv)
    command = Path(f"/proc/{args.pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    return 0 if ready(*listen_address(command)) else 1


if __name__ == "__main__":
    sys.exit(main())
