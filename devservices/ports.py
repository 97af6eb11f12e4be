"""Free local TCP ports and readiness probes."""

from __future__ import annotations

import contextlib
import socket
from typing import Final

LOCALHOST: Final = "127.0.0.1"


def find_free_ports(count: int = 1, host: str = LOCALHOST) -> list[int]:
    """Return ``count`` distinct TCP ports on ``host`` that nothing listens on right now.

    All probe sockets stay bound until every port is chosen, so the ports are
    distinct. Another process may still take one before the service binds it;
    the launchers detect that ("address already in use") and retry on new ports.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def find_free_port(host: str = LOCALHOST) -> int:
    """Return one TCP port on ``host`` that nothing listens on right now."""
    return find_free_ports(1, host)[0]


def port_accepts(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True if a TCP connection to ``host:port`` succeeds within ``timeout_s``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False
