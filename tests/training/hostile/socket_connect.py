# The test replaces __PORT__ with the port of a socket it listens on outside the sandbox.
import socket

PORT = int("__PORT__")


def solve(x):
    for host in ("127.0.0.1", "1.1.1.1"):
        with socket.create_connection((host, PORT), timeout=2):
            pass
    return x + 1
