"""A listening socket bound before any slow work, so a busy port is one line at once, not after a model
load (`serve`, `lsp --tcp/--ws`, `reward-server`)."""

from __future__ import annotations

import socket

from engine.errors import CodescalerError


def listen(host: str, port: int) -> socket.socket:
    """A non-blocking TCP socket bound to host:port and listening; a `CodescalerError` naming the address
    when it cannot be (in use, not an address of this machine, a privileged port)."""
    sock = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        if sock is not None:
            sock.close()
        reason = exc.strerror or str(exc)
        raise CodescalerError(
            f"cannot listen on {host}:{port}: {reason}; stop what uses it, or choose another --port/--host"
        ) from exc
    return sock


def bound_address(sock: socket.socket) -> str:
    """host:port as the socket is bound (the real port when 0 was asked for)."""
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
