"""Start a viser server on the first free port from the one asked for, and say where it is."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator

import viser


def browser_url(host: str, port: int) -> str:
    # 0.0.0.0 / :: are bind addresses, not somewhere a browser can go.
    shown = "localhost" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}"


def start_server(host: str, port: int, label: str = "SplatDream") -> tuple[viser.ViserServer, str]:
    """A running server (viser moves to the next free port when ``port`` is taken) and its URL."""
    if host in ("0.0.0.0", "::", ""):
        print(
            f"splatdream viewer: warning: binding {host or 'all interfaces'} makes the viewer (no password) "
            "reachable from other machines on this network; use --viewer.host 127.0.0.1 to keep it local",
            file=sys.stderr,
            flush=True,
        )
    with _quiet():  # viser 1.1 prints its address banner even with verbose=False; we print our own line
        server = viser.ViserServer(host=host, port=port, label=label, verbose=False)
    bound = server.get_port()
    url = browser_url(host, bound)
    note = "" if bound == port else f" (port {port} was busy)"
    print(f"splatdream viewer: {url}{note}", file=sys.stderr, flush=True)
    return server, url


def stop_server(server: viser.ViserServer) -> None:
    """Stop ``server`` without viser's "Server stopped" line (printed by its thread, joined here)."""
    with _quiet():
        server.stop()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with contextlib.redirect_stdout(io.StringIO()):
        yield
