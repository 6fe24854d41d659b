"""A TCP proxy on 127.0.0.1 that delays every chunk of bytes by a fixed time in each direction.

Benchmarks put it between the service and the local PostgreSQL to give the database connection the
latency of a real network hop (Lambda -> RDS Proxy -> database: about 0.5 ms each way), so that wire
round trips cost what they cost in production. Run in a process of its own (`start`), so that its
threads do not compete with the measured code for the interpreter. Loopback only; it stops with
its process.

    python -m tools.delay_proxy --target /path/to/.s.PGSQL.5432 --delay-ms 0.5
"""

import argparse
import multiprocessing
import queue
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection


def serve(target: str, delay_ms: float, ready: Connection | None = None, port: int = 0) -> None:
    """Accept on 127.0.0.1:`port`, forward to `target` (a Unix socket path or host:port), forever."""
    listener = socket.create_server(("127.0.0.1", port))
    if ready is not None:
        ready.send(listener.getsockname()[1])
    delay = delay_ms / 1000
    while True:
        client, _ = listener.accept()
        upstream = _connect(target)
        for sock in (client, upstream):
            if sock.family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for source, sink in ((client, upstream), (upstream, client)):
            _Direction(source, sink, delay).start()


def _connect(target: str) -> socket.socket:
    if target.startswith("/"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(target)
        return sock
    host, _, port = target.rpartition(":")
    return socket.create_connection((host, int(port)))


class _Direction:
    """One direction of one connection: a reader stamps each chunk, a writer sends it `delay` later
    (chunks keep their order; a chunk read while another waits is not delayed twice)."""

    def __init__(self, source: socket.socket, sink: socket.socket, delay: float) -> None:
        self.source, self.sink, self.delay = source, sink, delay
        self.chunks: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

    def start(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._write, daemon=True).start()

    def _read(self) -> None:
        try:
            while data := self.source.recv(65536):
                self.chunks.put((time.perf_counter() + self.delay, data))
        except OSError:
            pass
        self.chunks.put((0.0, b""))

    def _write(self) -> None:
        try:
            while True:
                due, data = self.chunks.get()
                if not data:
                    break
                wait = due - time.perf_counter()
                if wait > 0.0002:
                    time.sleep(wait - 0.0001)  # sleep most of it, spin the rest (sleep overshoots)
                while time.perf_counter() < due:
                    pass
                self.sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (self.sink, self.source):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def delay_proxy(target: str, delay_ms: float) -> Iterator[int]:
    """A delaying proxy in a child process for the block's duration; yields its port on 127.0.0.1."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=serve, args=(target, delay_ms, send), daemon=True)
    process.start()
    try:
        if not receive.poll(30):
            raise RuntimeError("the delay proxy did not start")
        yield int(receive.recv())
    finally:
        process.terminate()
        process.join(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="a Unix socket path or host:port")
    parser.add_argument("--delay-ms", type=float, default=0.5, help="added in each direction")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    serve(args.target, args.delay_ms, port=args.port)


if __name__ == "__main__":
    main()
