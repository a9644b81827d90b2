#!/usr/bin/env python3
"""Regression tests for bugs found in review. Each test names the bug it pins.

Several of these FAIL against the code as reviewed (they are meant to pass once the bug
is fixed):

  IdlePoolRaceTest            UpstreamPool::Idle::retire() posts a raw `this`; acquire()
                              can hand out (and destroy) an Idle whose connection the
                              origin already closed -> heap-use-after-free in removeIdle
                              (ASan), or the request hangs until response_timeout.
                              Timing-dependent (SIGSTOP makes it likely, not certain).
  PipelinedHeaderTimeoutTest  a partial request pipelined behind another is never subject
                              to timeouts.request_headers or timeouts.idle (and holds up
                              drain). Deterministic.
  HalfClosePipelineTest       pipelined requests followed by a client half-close: only
                              the first is answered. Deterministic.
  SignalRaceTest              SIGTERM right after "listening on" kills the process
                              (exit -15) instead of draining. Timing-dependent.
  PipelineWatermarkTest       a stream that starts while the client connection is above
                              its high watermark never pauses its origin: the response is
                              buffered in memory without bound. Timing-dependent.
"""

import os
import signal
import socket
import subprocess
import threading
import time
import unittest

import harness

MiB = 1024 * 1024


def custom_config(port, buffer_limit="1MiB", request_headers="10s", idle="5m",
                  response_timeout="30s", drain="2s"):
    return """drain_timeout: %s
listeners:
  - name: proxy
    address: 127.0.0.1:%d
    buffer_limit: %s
    filter_chains:
      - match: { tunneled: true }
        filters:
          - name: tcp_proxy
      - filters:
          - name: http_connection_manager
            config:
              timeouts: { request_headers: %s, idle: %s }
              http_filters:
                - name: router
                  config: { response_timeout: %s }
""" % (drain, port, buffer_limit, request_headers, idle, response_timeout)


def ConfigProxy(concurrency=1, **kw):
    """harness.Proxy with a config of our own (listener buffer_limit, idle timeout...)."""
    return harness.Proxy(concurrency=concurrency, config=lambda port: custom_config(port, **kw))


class RawOrigin:
    """A tiny origin whose behaviour per connection is a function(sock, index)."""

    def __init__(self, handler):
        self.handler = handler
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                s, _ = self.listener.accept()
            except OSError:
                return
            index = self.connections
            self.connections += 1
            threading.Thread(target=self._run, args=(s, index), daemon=True).start()

    def _run(self, s, index):
        try:
            self.handler(s, index)
        except OSError:
            pass
        finally:
            s.close()

    def close(self):
        self.listener.close()


def read_heads(sock):
    """Yields once per request head read from sock (bodies are not expected)."""
    buf = b""
    while True:
        d = sock.recv(65536)
        if not d:
            return
        buf += d
        while b"\r\n\r\n" in buf:
            _, buf = buf.split(b"\r\n\r\n", 1)
            yield


class IdlePoolRaceTest(unittest.TestCase):
    """source/http/upstream_pool.cc Idle::retire()/acquire(): an idle pooled connection the
    origin closes is retired on a posted handler that holds a raw Idle*. If a request
    acquires that Idle first, the handler later dereferences a freed Idle (ASan:
    heap-use-after-free in UpstreamPool::removeIdle), and the request went out on a
    half-closed connection that Connection no longer reads, so it hangs until
    response_timeout."""

    ATTEMPTS = 4

    def attempt(self):
        close_first = threading.Event()

        def handler(sock, index):
            for _ in read_heads(sock):
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                if index == 0:
                    close_first.wait(10)
                    return  # FIN on what is now an idle pooled connection

        origin = RawOrigin(handler)
        proxy = ConfigProxy(response_timeout="20s")
        try:
            c = harness.connect(proxy)
            req = ("GET http://127.0.0.1:%d/x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
                   % (origin.port, origin.port)).encode()
            c.sendall(req)
            reader = harness.SocketReader(c)
            self.assertEqual(harness.read_response(reader).status, 200)
            time.sleep(0.2)  # the upstream connection is back in the pool
            # Freeze the proxy so that the origin's FIN and the next request are seen in
            # one event-loop turn, the FIN first.
            os.kill(proxy.pid, signal.SIGSTOP)
            try:
                close_first.set()
                time.sleep(0.2)
                c.sendall(req)
                time.sleep(0.2)
            finally:
                os.kill(proxy.pid, signal.SIGCONT)
            try:
                resp = harness.read_response(reader, timeout=5)
                status = resp.status
            except (socket.timeout, EOFError, ConnectionResetError) as e:
                status = repr(e)
            time.sleep(0.3)
            alive = proxy.alive()
            c.close()
            rc = proxy.stop()
            return status, alive, rc, proxy.log()
        finally:
            if proxy.proc.poll() is None:
                proxy.kill()
            origin.close()

    def test_origin_close_of_idle_connection_racing_a_new_request(self):
        for i in range(self.ATTEMPTS):
            status, alive, rc, log = self.attempt()
            self.assertTrue(alive and "Sanitizer" not in log,
                            "attempt %d: proxy crashed:\n%s" % (i, log[-4000:]))
            self.assertEqual(status, 200, "attempt %d: second request got %s (a stale pooled "
                             "connection was handed out and never noticed)" % (i, status))
            self.assertEqual(rc, 0, log[-2000:])


class PipelinedHeaderTimeoutTest(harness.ProxyTestCase):
    """conn_manager.cc onData()/onIdleTick(): the request-header timer is armed only when
    bytes arrive while no stream exists. A partial request that was pipelined behind a
    complete one is parsed in finishStream() -> dispatch(), so the timer never starts, and
    onIdleTick() re-arms forever while parser_->messageInProgress(). The connection is
    never closed: no 408, no idle timeout, and a drain waits for drain_timeout."""

    proxy_kwargs = {"request_headers_timeout": "1s"}

    def test_partial_pipelined_request_gets_408(self):
        s = harness.connect(self.proxy)
        full = "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (self.origin.url("/status/200"),
                                                       self.origin.authority)
        partial = "GET %s HTTP/1.1\r\nX-Partial: " % self.origin.url("/status/200")
        s.sendall((full + partial).encode())
        reader = harness.SocketReader(s)
        self.assertEqual(harness.read_response(reader).status, 200)
        closed, extra = harness.wait_closed(reader, timeout=5)
        s.close()
        self.assertTrue(closed, "connection with a stalled pipelined request still open "
                        "after 5 s (request_headers timeout is 1 s)")
        self.assertIn(b"408", extra)

    def test_control_partial_request_alone_gets_408(self):
        s = harness.connect(self.proxy)
        s.sendall(("GET %s HTTP/1.1\r\nX-Partial: " % self.origin.url("/")).encode())
        closed, extra = harness.wait_closed(harness.SocketReader(s), timeout=5)
        s.close()
        self.assertTrue(closed)
        self.assertIn(b"408", extra)


class HalfClosePipelineTest(harness.ProxyTestCase):
    """conn_manager.cc encodeHeaders(): client_eof_ forces close_after_response_, so after
    a client sends two pipelined requests and half-closes (shutdown(SHUT_WR), `nc -N`),
    the second request, already received in full, is silently dropped."""

    def test_both_pipelined_requests_answered_after_half_close(self):
        s = harness.connect(self.proxy)
        req = ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (self.origin.url("/status/200"),
                                                        self.origin.authority)).encode()
        s.sendall(req * 2)
        s.shutdown(socket.SHUT_WR)
        out = harness.SocketReader(s).read_to_eof(time.monotonic() + 5)
        s.close()
        self.assertEqual(out.count(b"HTTP/1.1 200"), 2, out[:500])


class SignalRaceTest(unittest.TestCase):
    """server.cc run(): "listening on" is logged and workers accept before the signal_set
    exists, so a SIGTERM in that window takes the default action (exit -15) instead of
    draining and exiting 0."""

    def test_sigterm_right_after_listening_drains(self):
        for i in range(10):
            port = harness.free_port()
            d = harness.tmpdir("sig")
            path = os.path.join(d, "c.yaml")
            with open(path, "w") as f:
                f.write(custom_config(port))
            proc = subprocess.Popen([harness.interpose_bin(), "-c", path, "--concurrency", "2"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    env=harness.clean_env())
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                line = proc.stderr.readline()
                if not line or b"listening on" in line:
                    break
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(10)
            proc.stderr.close()
            self.assertEqual(rc, 0, "attempt %d: SIGTERM right after 'listening on' gave exit %s"
                             % (i, rc))


class PipelineWatermarkTest(unittest.TestCase):
    """router.cc DownstreamWatermarks::onAboveWriteBufferHighWatermark() returns when there
    is no upstream yet, and conn_manager.cc addDownstreamWatermarkCallbacks() replays
    "above" only at registration. A pipelined stream that starts while the client's write
    buffer is still above its high watermark (the previous response's tail not yet taken)
    therefore never pauses its origin; while the client does not read, the whole response
    piles up in memory. Whether the first response ends above the watermark depends on
    read sizes, hence several attempts."""

    N2 = 200 * MiB
    SIZES = [4 * MiB + 50000, 4 * MiB + 50000, 4 * MiB + 50000, 4 * MiB + 250000,
             3 * MiB + 123457, 5 * MiB + 77777]

    def attempt(self, origin, n1):
        proxy = ConfigProxy(buffer_limit="16KiB")
        try:
            base = proxy.memory_kib()["VmRSS"]
            c = socket.socket()
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            c.connect(("127.0.0.1", proxy.port))
            c.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\nGET %s HTTP/1.1\r\nHost: x\r\n\r\n"
                       % (origin.url("/bytes?n=%d" % n1), origin.url("/bytes?n=%d" % self.N2))
                       ).encode())
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += c.recv(65536)
            need = n1 - len(buf.split(b"\r\n\r\n", 1)[1])
            c.settimeout(10)
            while need > 0:  # read the first response slowly, then stop reading
                need -= len(c.recv(min(16384, need)))
                time.sleep(0.0005)
            peak = 0
            for _ in range(30):
                time.sleep(0.1)
                peak = max(peak, proxy.memory_kib()["VmRSS"])
            c.close()
            return peak - base
        finally:
            proxy.stop()

    def test_pipelined_response_respects_client_watermark(self):
        origin = harness.OriginProcess()
        try:
            for n1 in self.SIZES:
                growth = self.attempt(origin, n1)
                self.assertLess(growth, 48 * 1024,
                                "n1=%d: proxy RSS grew by %d KiB while the client was not reading "
                                "(listener buffer_limit 16KiB)" % (n1, growth))
        finally:
            origin.stop()


if __name__ == "__main__":
    harness.main()
