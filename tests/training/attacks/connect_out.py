# Tries to reach the host: unix sockets by path and in the abstract namespace, IPv4 and IPv6 loopback.
import socket

UNIX = __UNIX__
ABSTRACT = __ABSTRACT__
PORTS = __PORTS__


def attempt(family, address):
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            sock.connect(address)
            sock.sendall(b"hello from the sandbox")
        return "connected"
    except OSError as exc:
        return f"refused ({type(exc).__name__})"


def solve(x):
    results = {path: attempt(socket.AF_UNIX, path) for path in UNIX}
    results["abstract"] = attempt(socket.AF_UNIX, "\0" + ABSTRACT)
    results["ipv4"] = attempt(socket.AF_INET, ("127.0.0.1", PORTS[0]))
    results["ipv6"] = attempt(socket.AF_INET6, ("::1", PORTS[1]))
    return results
