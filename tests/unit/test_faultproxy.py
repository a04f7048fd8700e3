"""tools/faultproxy.py against a tiny local echo server (pure logic, no Dovecot)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultproxy import FaultProxy


class EchoServer:
    """Threaded echo server that also records what each connection received."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytearray] = []
        self.closed_by_peer: list[threading.Event] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._loop, daemon=True)
        self._accept.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            buf, done = bytearray(), threading.Event()
            self.received.append(buf)
            self.closed_by_peer.append(done)
            t = threading.Thread(target=self._serve, args=(conn, buf, done), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket, buf: bytearray, done: threading.Event) -> None:
        conn.settimeout(0.1)
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                buf += data
                try:
                    conn.sendall(data)
                except OSError:
                    break
        done.set()

    def close(self) -> None:
        self._stop.set()
        self._accept.join(2)
        for t in self._threads:
            t.join(2)
        self.sock.close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    srv = EchoServer()
    yield srv
    srv.close()


@pytest.fixture
def proxy(echo: EchoServer) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", echo.port) as p:
        yield p


def connect(p: FaultProxy) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exactly(s: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def proxy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("faultproxy-")]


def test_forwards_both_ways_and_counts(proxy: FaultProxy) -> None:
    with connect(proxy) as s:
        payload = bytes(range(256)) * 1000
        s.sendall(payload)
        assert recv_exactly(s, len(payload)) == payload
    assert proxy.connections_accepted == 1
    assert proxy.bytes_up == len(payload)
    deadline = time.monotonic() + 2
    while proxy.bytes_down < len(payload) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proxy.bytes_down == len(payload)


def test_half_close_is_passed_on(proxy: FaultProxy, echo: EchoServer) -> None:
    with connect(proxy) as s:
        s.sendall(b"bye")
        s.shutdown(socket.SHUT_WR)
        assert recv_exactly(s, 10) == b"bye"  # echo, then EOF
    assert echo.closed_by_peer[0].wait(2)


def test_latency_is_a_delay_line_not_a_throttle(echo: EchoServer) -> None:
    with FaultProxy("127.0.0.1", echo.port, latency_ms=50) as p, connect(p) as s:
        t0 = time.monotonic()
        s.sendall(b"x")
        assert recv_exactly(s, 1) == b"x"
        rtt = time.monotonic() - t0
        assert 0.095 <= rtt < 1.0
        # 20 pipelined messages still take about one round trip, not 20
        t0 = time.monotonic()
        for i in range(20):
            s.sendall(b"m%02d" % i)
            time.sleep(0.002)
        assert recv_exactly(s, 60) == b"".join(b"m%02d" % i for i in range(20))
        assert time.monotonic() - t0 < 0.6  # sequential would be >= 2 s
        # bandwidth is not throttled: 4 MB through a 100 ms round trip well under a second
        blob = b"z" * (4 << 20)
        sender = threading.Thread(target=s.sendall, args=(blob,))
        t0 = time.monotonic()
        sender.start()
        assert recv_exactly(s, len(blob)) == blob
        sender.join()
        assert time.monotonic() - t0 < 2.0


def test_latency_can_change_at_runtime(proxy: FaultProxy) -> None:
    with connect(proxy) as s:
        proxy.set_latency(40)
        t0 = time.monotonic()
        s.sendall(b"a")
        recv_exactly(s, 1)
        assert time.monotonic() - t0 >= 0.075
        proxy.set_latency(0)
        t0 = time.monotonic()
        s.sendall(b"b")
        recv_exactly(s, 1)
        assert time.monotonic() - t0 < 0.07


def test_drop_after_bytes_cuts_exactly(proxy: FaultProxy, echo: EchoServer) -> None:
    with connect(proxy) as s:
        s.sendall(b"0123456789")
        assert recv_exactly(s, 10) == b"0123456789"
        proxy.drop_after_bytes(25)
        s.sendall(b"a" * 20)
        s.sendall(b"b" * 20)
        data = recv_exactly(s, 100)  # EOF: the connection is closed right after the 25th byte,
        assert (b"a" * 20 + b"b" * 5).startswith(data)  # so echoes may or may not make it back
    assert echo.closed_by_peer[0].wait(2)
    assert bytes(echo.received[0]) == b"0123456789" + b"a" * 20 + b"b" * 5
    # one-shot: the next connection is not affected
    with connect(proxy) as s2:
        s2.sendall(b"c" * 100)
        assert recv_exactly(s2, 100) == b"c" * 100


def test_drop_with_rst(proxy: FaultProxy) -> None:
    with connect(proxy) as s:
        proxy.drop_after_bytes(0, rst=True)
        s.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            for _ in range(50):
                if not s.recv(10):
                    break
                time.sleep(0.01)
            s.sendall(b"more")  # at the latest the peer's RST surfaces here
            s.recv(10)


def test_stall_and_unstall(proxy: FaultProxy) -> None:
    with connect(proxy) as s:
        proxy.stall()
        s.sendall(b"held")
        s.settimeout(0.3)
        with pytest.raises(TimeoutError):
            s.recv(10)
        assert proxy.active_connections == 1
        proxy.unstall()
        s.settimeout(5)
        assert recv_exactly(s, 4) == b"held"


def test_reset_all_sends_rst(proxy: FaultProxy) -> None:
    socks = [connect(proxy) for _ in range(3)]
    for s in socks:
        s.sendall(b"hi")
        assert recv_exactly(s, 2) == b"hi"
    assert proxy.active_connections == 3
    assert proxy.reset_all() == 3
    for s in socks:
        with pytest.raises(ConnectionResetError):
            s.recv(10)
        s.close()
    assert proxy.active_connections == 0
    with connect(proxy) as s:  # the proxy itself keeps working
        s.sendall(b"ok")
        assert recv_exactly(s, 2) == b"ok"
    assert proxy.connections_accepted == 4


def test_refuse_new_and_dead_target(proxy: FaultProxy, echo: EchoServer) -> None:
    proxy.refuse_new = True
    with connect(proxy) as s:
        assert s.recv(10) == b""
    proxy.refuse_new = False
    dead = socket.create_server(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    # on loopback the RST may already surface in connect()
    with FaultProxy("127.0.0.1", port) as p, pytest.raises(ConnectionResetError), connect(p) as s:
        s.recv(10)


def test_stop_closes_everything(echo: EchoServer) -> None:
    p = FaultProxy("127.0.0.1", echo.port, latency_ms=5).start()
    socks = [connect(p) for _ in range(5)]
    for s in socks:
        s.sendall(b"x")
        recv_exactly(s, 1)
    p.stall()
    for s in socks:
        s.sendall(b"y" * 100000)
    assert len(proxy_threads()) >= 5 * 4 + 1
    t0 = time.monotonic()
    p.stop()
    assert time.monotonic() - t0 < 2
    assert proxy_threads() == []
    for s in socks:
        s.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", p.port), timeout=1).close()


def test_cli_runs_and_stops(echo: EchoServer) -> None:
    tool = Path(__file__).resolve().parents[2] / "tools" / "faultproxy.py"
    proc = subprocess.Popen([sys.executable, str(tool), "--target", f"127.0.0.1:{echo.port}", "--latency-ms", "10"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        with socket.create_connection(("127.0.0.1", info["port"]), timeout=5) as s:
            t0 = time.monotonic()
            s.sendall(b"ping")
            assert recv_exactly(s, 4) == b"ping"
            assert time.monotonic() - t0 >= 0.018
    finally:
        proc.terminate()
        assert proc.wait(5) == 0
