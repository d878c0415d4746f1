"""The port a scenario listens on: the one asked for if it is free, or any free one for `--port 0`."""

from __future__ import annotations

import socket

from ipctrace.session.results import RunError

DEFAULT_PORT = 8080  # the course notes' port


def choose_port(requested: int, protocols: tuple[str, ...] = ("tcp", "udp")) -> int:
    """The port a scenario will use: the requested one if free (for the protocols it uses), any free one for 0."""
    if requested == 0:
        for _ in range(50):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            if _port_is_free(port, protocols):
                return int(port)
        raise RunError("could not find a free port; pass one with --port N.")
    if not 0 < requested < 65536:
        raise RunError(f"port {requested} is not a valid port number; choose one between 1 and 65535.")
    if not _port_is_free(requested, protocols):
        used = "/".join(p.upper() for p in protocols)
        raise RunError(
            f"port {requested} ({used}) is in use by another program: stop it, or choose another port with "
            f"--port N (--port 0 picks a free one)."
        )
    return requested


def _port_is_free(port: int, protocols: tuple[str, ...]) -> bool:
    kinds = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM}
    for kind in (kinds[p] for p in protocols):
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers are not "in use"
            try:
                probe.bind(("0.0.0.0", port))
            except OSError:
                return False
    return True
