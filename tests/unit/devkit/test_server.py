"""devkit.server's port choice: the scale test once gave two replicas one port (one failed to bind, the other
answered for both), because ports probed one at a time can repeat."""

import socket

from devkit.server import free_ports


def test_free_ports_are_distinct_and_each_can_be_bound() -> None:
    ports = free_ports(64)
    assert len(set(ports)) == 64
    for port in ports:
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
