"""A TCP proxy on 127.0.0.1 in front of the test database, for faults a real network has.

`forward` passes bytes both ways; `cut()` resets every open connection and refuses new ones (the
database went away); `freeze()` stops passing bytes and leaves new connections unanswered (the database
hangs); `heal()` forwards again. Only loopback, only the test's own database.
"""

import selectors
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

Mode = Literal["forward", "refuse", "freeze"]


class TcpProxy:
    def __init__(self, unix_socket_path: str) -> None:
        self.target = unix_socket_path
        self.mode: Mode = "forward"
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._threads = [threading.Thread(target=self._accept_loop, daemon=True)]
        self._threads[0].start()

    # --- Faults ---

    def cut(self) -> None:
        """Reset every open connection; new ones are closed at once."""
        self.mode = "refuse"
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for client, upstream in pairs:
            for sock in (client, upstream):
                _close(sock, reset=True)

    def freeze(self) -> None:
        """Stop passing bytes: open connections and new ones wait forever (until their client gives up)."""
        self.mode = "freeze"

    def heal(self) -> None:
        self.mode = "forward"

    def close(self) -> None:
        self._stopped.set()
        self.cut()
        _close(self.listener)
        for thread in self._threads:
            thread.join(timeout=5)

    # --- Plumbing ---

    def _accept_loop(self) -> None:
        self.listener.settimeout(0.1)
        while not self._stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            if self.mode == "refuse":
                _close(client, reset=True)
                continue
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            with self._lock:
                self._pairs.append((client, upstream))
            thread = threading.Thread(target=self._pump, args=(client, upstream), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self._stopped.is_set():
                for key, _ in selector.select(timeout=0.05):
                    if self.mode == "freeze":
                        continue  # leave the bytes where they are
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
                if self.mode == "freeze":
                    self._stopped.wait(0.05)
        except OSError:
            return
        finally:
            selector.close()
            for sock in (client, upstream):
                _close(sock)


def _close(sock: socket.socket, *, reset: bool = False) -> None:
    try:
        if reset:  # RST instead of FIN: what a crashed server or a dropped network looks like
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port that completes TCP handshakes and then never says a word (a hung database server)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def closed_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])
