"""Run the app on uvicorn: bind the socket first, say where it listens, stop cleanly on a signal.

The socket is bound here, not by uvicorn, so that a port in use is an ``OSError`` the command line
reports in one line (uvicorn would log it and exit 1), and so that ``--port 0`` (any free port) can
say which port it got before the first request comes. It listens before the address is printed:
a client that connects at once waits in the backlog until uvicorn accepts it.

Stopping: uvicorn catches SIGINT (Ctrl-C) and SIGTERM, stops accepting, lets running requests finish
for up to ``GRACE_SECONDS``, cancels the rest (a generation still in a thread stops at its next
token), and then raises the signal again; Ctrl-C and SIGTERM both end up here as KeyboardInterrupt
and the server returns normally. A second Ctrl-C stops at once.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import sys
import threading

import uvicorn

from rnnviz.serve.app import create_app
from rnnviz.serve.model import ServedModel

GRACE_SECONDS = 3


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one). Raises ``OSError``."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart at once after a stop
        sock.bind(address)
        sock.listen(2048)  # uvicorn's default backlog
    except OSError:
        sock.close()
        raise
    return sock


def url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if sock.family == socket.AF_INET6 else f"http://{host}:{port}"


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def make_server(model: ServedModel, access_log: bool = False) -> uvicorn.Server:
    """uvicorn quiet but for warnings, or with one line per request (which it logs at level info)."""
    config = uvicorn.Config(
        create_app(model), log_level="info" if access_log else "warning", access_log=access_log,
        timeout_graceful_shutdown=GRACE_SECONDS,
    )  # fmt: skip
    return uvicorn.Server(config)


def serve(model: ServedModel, host: str, port: int, access_log: bool = False) -> None:
    """Serve ``model`` until Ctrl-C or SIGTERM. Raises ``OSError`` if the address cannot be bound."""
    sock = bind(host, port)
    server = make_server(model, access_log)
    address = url(sock)
    print(f"rnnviz serve: {model.name}, {model.describe()}", flush=True)
    print(f"rnnviz serve: listening on {address} (API docs at {address}/docs); Ctrl-C stops", flush=True)
    if not is_loopback(host):
        print(
            f"rnnviz serve: note: {host} is reachable from other machines, and the API has no authentication",
            file=sys.stderr,
        )
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None  # SIGTERM stops like Ctrl-C
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # the signal uvicorn re-raises once it has shut down
        pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        sock.close()
    print("rnnviz serve: stopped", flush=True)


def _interrupt(signum, frame):
    raise KeyboardInterrupt
