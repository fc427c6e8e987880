"""A tiny raw-socket SCPI client for the simulator tests (TCP_NODELAY)."""
import socket


class RawClient:
    def __init__(self, resource: str, timeout: float = 5.0):
        _, host, port, _ = resource.split("::")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")

    def write(self, msg: str) -> None:
        self.sock.sendall(msg.encode() + b"\n")

    def ask(self, msg: str) -> str:
        self.write(msg)
        line = self.file.readline()
        if not line:
            raise ConnectionError("closed")
        return line.decode().rstrip("\n")

    def close(self):
        self.file.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
