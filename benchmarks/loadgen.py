"""A lean HTTP/1.1 load generator: N keep-alive connections, one thread each.

It sends pre-encoded requests and reads just the status line, Content-Length and body,
so the client spends little CPU (this matters on a 2-core machine where client, server and
database share the cores).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .common import median, percentile


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    # Filled in by the caller when it measures the server's CPU (ms per request).
    app_cpu_ms: float = 0.0
    db_cpu_ms: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return median(self.latencies_ms)

    @property
    def p95(self) -> float:
        return percentile(self.latencies_ms, 95)


class Connection:
    """One keep-alive connection that sends raw requests and returns (status, body)."""

    def __init__(self, port: int):
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def _connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def request(self, raw: bytes, retry: bool = True) -> tuple[int, bytes]:
        if self.sock is None:
            self._connect()
        try:
            self.sock.sendall(raw)
            return self._read_response()
        except (ConnectionError, OSError):
            # The server closed an idle keep-alive connection: reconnect once.
            self.close()
            if not retry:
                raise
            return self.request(raw, retry=False)

    def _read_response(self) -> tuple[int, bytes]:
        buf = self.buffer
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        close = chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
            elif name == b"transfer-encoding" and value.strip().lower() == b"chunked":
                chunked = True
        if chunked:
            return status, self._read_chunks(rest, close)
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            rest += chunk
        body, self.buffer = rest[:length], rest[length:]
        if close:
            self.close()
        return status, body

    def _read_chunks(self, rest: bytes, close: bool) -> bytes:
        """The body of a chunked response (no trailers)."""
        body = b""
        while True:
            while b"\r\n" not in rest:
                rest += self._recv()
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += self._recv()
            body += rest[:size]
            rest = rest[size + 2 :]
            if size == 0:
                self.buffer = rest
                if close:
                    self.close()
                return body

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        return chunk


def encode_get(path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def run_load(
    port: int,
    make_request: Callable[[int, int], bytes],
    *,
    clients: int = 8,
    seconds: float = 10.0,
    warmup: float = 2.0,
    max_requests_per_client: int = 50_000,
    on_start: Callable[[], None] | None = None,
    on_end: Callable[[], None] | None = None,
) -> LoadResult:
    """`clients` threads send make_request(client, i) back to back for `seconds`."""
    stop_warmup = time.monotonic() + warmup
    # on_start runs once every client has warmed up, before any is released: from then
    # on only measured traffic reaches the server.
    barrier = threading.Barrier(clients + 1, action=on_start)
    results: list[tuple[list[float], int, dict[int, int], float]] = [None] * clients  # type: ignore

    failures: list[BaseException] = []

    def worker(c: int) -> None:
        try:
            run_client(c)
        except BaseException as exc:
            # Release the others (and the caller) instead of leaving them at the barrier.
            failures.append(exc)
            barrier.abort()

    def run_client(c: int) -> None:
        conn = Connection(port)
        i = 0
        # Warm-up: fill caches, open database connections; not measured.
        while time.monotonic() < stop_warmup:
            conn.request(make_request(c, i))
            i += 1
        barrier.wait()
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        errors = 0
        clock = time.perf_counter
        end = clock() + seconds
        n = 0
        while n < max_requests_per_client:
            raw = make_request(c, i)
            i += 1
            t0 = clock()
            try:
                status, _body = conn.request(raw)
            except OSError:
                errors += 1
                conn.close()
                continue
            t1 = clock()
            latencies.append((t1 - t0) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            n += 1
            if t1 >= end:
                break
        results[c] = (latencies, errors, statuses, clock())
        conn.close()

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"a load client failed: {failures[0]!r}") from failures[0]
    if on_end is not None:
        on_end()
    finished = max(r[3] for r in results)
    latencies = [x for r in results for x in r[0]]
    statuses: dict[int, int] = {}
    for r in results:
        for k, v in r[2].items():
            statuses[k] = statuses.get(k, 0) + v
    return LoadResult(
        requests=len(latencies),
        seconds=finished - started,
        latencies_ms=latencies,
        errors=sum(r[1] for r in results),
        statuses=statuses,
    )
