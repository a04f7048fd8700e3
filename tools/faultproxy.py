#!/usr/bin/env python3
"""A fault-injecting TCP proxy for tests and benchmarks (threads, no dependencies).

Listens on 127.0.0.1 and forwards every accepted connection to ``target``.  Faults,
settable at any time:

* ``latency_ms`` -- one-way delay applied in *each* direction as a delay line: every
  chunk is released ``latency_ms`` after it was read, so pipelined data stays in flight
  (a 20 ms round trip is ``latency_ms=10``).  Bandwidth is not throttled.
* ``drop_after_bytes(n)`` -- after ``n`` more bytes client->server (counted over all
  connections, as delivered to the server), close that connection (one-shot).
* ``stall()`` / ``unstall()`` -- stop / resume forwarding without closing anything.
* ``reset_all()`` -- abort every current connection with a TCP RST (SO_LINGER 0).
* ``refuse_new = True`` -- accept new connections and close them at once.

Counters: ``connections_accepted``, ``active_connections``, ``bytes_up``, ``bytes_down``.

CLI::

    python tools/faultproxy.py --listen-port P --target HOST:PORT --latency-ms 10
"""
from __future__ import annotations

import argparse
import collections
import json
import signal
import socket
import struct
import sys
import threading
import time
from typing import Self

__all__ = ["FaultProxy"]

_CHUNK = 65536
_POLL = 0.1  # seconds; how often blocked threads look at the shutdown flag


class _Pipe:
    """One direction of a connection: a reader thread feeding a delay line, a writer thread draining it."""

    def __init__(self, conn: _Conn, src: socket.socket, dst: socket.socket, up: bool) -> None:
        self.conn, self.src, self.dst, self.up = conn, src, dst, up
        self.queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self.queued = 0
        self.cond = threading.Condition()
        self.eof = False
        name = f"faultproxy-{conn.id}-{'up' if up else 'down'}"
        self.threads = [threading.Thread(target=self._read, name=name + "-r", daemon=True),
                        threading.Thread(target=self._write, name=name + "-w", daemon=True)]

    def _read(self) -> None:
        proxy = self.conn.proxy
        try:
            while not self.conn.closed:
                try:
                    data = self.src.recv(_CHUNK)
                except TimeoutError:
                    continue
                if not data:
                    break
                release = time.monotonic() + proxy.latency_ms / 1000.0
                with self.cond:
                    while self.queued >= proxy.max_buffer and not self.conn.closed:
                        self.cond.wait(_POLL)  # bounded: back-pressure to the sender
                    self.queue.append((release, data))
                    self.queued += len(data)
                    self.cond.notify_all()
        except ConnectionResetError:  # pass an RST on as an RST
            self.conn.close(rst=True)
        except OSError:
            pass
        finally:
            with self.cond:
                self.eof = True
                self.cond.notify_all()

    def _write(self) -> None:
        proxy = self.conn.proxy
        try:
            while not self.conn.closed:
                with self.cond:
                    if not self.queue:
                        if self.eof:
                            break
                        self.cond.wait(_POLL)
                        continue
                    release, data = self.queue[0]
                now = time.monotonic()
                if proxy.stalled or now < release:
                    proxy._wake.wait(min(_POLL, max(release - now, 0.0005)) if not proxy.stalled else _POLL)
                    continue
                with self.cond:
                    self.queue.popleft()
                    self.queued -= len(data)
                    self.cond.notify_all()
                cut = proxy._take_budget(len(data)) if self.up else None
                if cut is not None:
                    data = data[:cut]
                self._send(data)
                proxy._count(self.up, len(data))
                if cut is not None:
                    self.conn.close(rst=proxy._drop_rst)
                    return
            if not self.conn.closed:  # EOF from src: pass the half-close on
                try:
                    self.dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                self.conn.pipe_done()
        except OSError:
            self.conn.close(rst=False)

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self.conn.closed:
            try:
                n = self.dst.send(view)
            except TimeoutError:
                continue
            view = view[n:]


class _Conn:
    def __init__(self, proxy: FaultProxy, cid: int, client: socket.socket, server: socket.socket) -> None:
        self.proxy, self.id, self.client, self.server = proxy, cid, client, server
        self.closed = False
        self._lock = threading.Lock()
        self._done = 0
        for s in (client, server):
            s.settimeout(_POLL)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pipes = [_Pipe(self, client, server, True), _Pipe(self, server, client, False)]

    def start(self) -> None:
        for p in self.pipes:
            for t in p.threads:
                t.start()

    def pipe_done(self) -> None:
        with self._lock:
            self._done += 1
            both = self._done == 2
        if both:
            self.close(rst=False)

    def close(self, rst: bool) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.client, self.server):
            try:
                if rst:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.shutdown(socket.SHUT_RD)  # wakes a reader blocked in recv(); sends nothing
            except OSError:
                pass
            s.close()
        for p in self.pipes:
            with p.cond:
                p.cond.notify_all()
        self.proxy._forget(self)

    def join(self, timeout: float) -> None:
        for p in self.pipes:
            for t in p.threads:
                if t is not threading.current_thread():
                    t.join(timeout)


class FaultProxy:
    """TCP proxy 127.0.0.1:``port`` -> ``target_host:target_port`` with injectable faults."""

    def __init__(self, target_host: str, target_port: int, latency_ms: float = 0, *,
                 listen_host: str = "127.0.0.1", listen_port: int = 0, max_buffer: int = 8 << 20,
                 connect_timeout: float = 5.0) -> None:
        self.target = (target_host, int(target_port))
        self.latency_ms = float(latency_ms)
        self.listen_host, self.port = listen_host, int(listen_port)
        self.max_buffer = max_buffer  # per direction and connection
        self.connect_timeout = connect_timeout
        self.refuse_new = False
        self.stalled = False
        self.connections_accepted = 0
        self.bytes_up = 0  # client -> server, delivered
        self.bytes_down = 0
        self._budget: int | None = None
        self._drop_rst = False
        self._lock = threading.Lock()
        self._wake = threading.Event()  # set on unstall/stop to wake writers early
        self._conns: dict[int, _Conn] = {}
        self._all: list[_Conn] = []
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # ------------------------------------------------------------ lifecycle
    def start(self) -> Self:
        if self._listener is not None:
            return self
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((self.listen_host, self.port))
        ls.listen(128)
        ls.settimeout(_POLL)
        self.port = ls.getsockname()[1]
        self._listener = ls
        self._stopping.clear()
        self._accept_thread = threading.Thread(target=self._accept_loop, name=f"faultproxy-accept-{self.port}",
                                               daemon=True)
        self._accept_thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and every connection; join all threads."""
        self._stopping.set()
        self._wake.set()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
        if self._listener is not None:
            self._listener.close()
        self._listener = self._accept_thread = None
        self.close_all()
        with self._lock:
            conns, self._all = self._all, []
        for c in conns:
            c.join(timeout)
        self._wake.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return self.listen_host, self.port

    # ------------------------------------------------------------ faults
    def set_latency(self, latency_ms: float) -> None:
        """One-way delay for data read from now on (each direction)."""
        self.latency_ms = float(latency_ms)

    def drop_after_bytes(self, n: int | None, *, rst: bool = False) -> None:
        """Close the connection that carries the n-th next client->server byte (``None`` cancels)."""
        with self._lock:
            self._budget = None if n is None else max(0, int(n))
            self._drop_rst = rst

    def stall(self) -> None:
        """Stop forwarding in both directions; connections stay open, data stays buffered."""
        self.stalled = True

    def unstall(self) -> None:
        self.stalled = False
        self._wake.set()
        self._wake.clear()

    def reset_all(self) -> int:
        """Abort all current connections with RST (to both client and server); return how many."""
        return self._close_current(rst=True)

    def close_all(self) -> int:
        """Close all current connections gracefully (FIN); return how many."""
        return self._close_current(rst=False)

    # ------------------------------------------------------------ stats
    @property
    def active_connections(self) -> int:
        with self._lock:
            return len(self._conns)

    def wait_for_connections(self, n: int, timeout: float = 10.0) -> bool:
        """Wait until at least *n* connections have been accepted in total."""
        deadline = time.monotonic() + timeout
        while self.connections_accepted < n:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # ------------------------------------------------------------ internals
    def _close_current(self, rst: bool) -> int:
        with self._lock:
            conns = list(self._conns.values())
        for c in conns:
            c.close(rst=rst)
        return len(conns)

    def _take_budget(self, n: int) -> int | None:
        """None: forward all n bytes; k: forward only k bytes and then drop the connection."""
        with self._lock:
            if self._budget is None:
                return None
            if n < self._budget:
                self._budget -= n
                return None
            cut, self._budget = self._budget, None
            return cut

    def _count(self, up: bool, n: int) -> None:
        with self._lock:
            if up:
                self.bytes_up += n
            else:
                self.bytes_down += n

    def _forget(self, conn: _Conn) -> None:
        with self._lock:
            self._conns.pop(conn.id, None)

    def _accept_loop(self) -> None:
        assert self._listener is not None
        ls = self._listener
        while not self._stopping.is_set():
            try:
                client, _ = ls.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            with self._lock:
                self.connections_accepted += 1
                cid = self.connections_accepted
                # drop finished connections' bookkeeping so memory stays bounded
                self._all = [c for c in self._all if not c.closed or any(
                    t.is_alive() for p in c.pipes for t in p.threads)]
            if self.refuse_new:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=self.connect_timeout)
            except OSError:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            conn = _Conn(self, cid, client, server)
            with self._lock:
                self._conns[cid] = conn
                self._all.append(conn)
            conn.start()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="fault-injecting TCP proxy on 127.0.0.1")
    ap.add_argument("--listen-port", type=int, default=0)
    ap.add_argument("--listen-host", default="127.0.0.1")
    ap.add_argument("--target", required=True, help="HOST:PORT")
    ap.add_argument("--latency-ms", type=float, default=0, help="one-way delay, applied in each direction")
    args = ap.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    proxy = FaultProxy(host or "127.0.0.1", int(port), args.latency_ms, listen_host=args.listen_host,
                       listen_port=args.listen_port).start()
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    print(json.dumps({"host": proxy.listen_host, "port": proxy.port, "target": f"{host}:{port}",
                      "latency_ms": proxy.latency_ms}), flush=True)
    done.wait()
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
