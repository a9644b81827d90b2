#!/usr/bin/env python3
"""Process lifecycle: "listening on" is logged once, SIGTERM and SIGINT drain
and exit 0, an in-flight request finishes during the drain, and the proxy
stops accepting new connections once draining."""

import signal
import socket
import subprocess
import threading
import time
import unittest

import harness


class LifecycleTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.origin = harness.OriginProcess()

    @classmethod
    def tearDownClass(cls):
        cls.origin.stop()

    def start_proxy(self):
        proxy = harness.Proxy()
        self.addCleanup(proxy.kill)
        return proxy

    def test_listening_logged_once(self):
        proxy = self.start_proxy()
        time.sleep(0.3)
        lines = [l for l in proxy.log().splitlines() if "listening on" in l]
        self.assertEqual(len(lines), 1, proxy.log())
        self.assertIn(proxy.address, lines[0])
        self.assertEqual(proxy.stop(), 0)

    def test_sigint_exits_zero(self):
        proxy = self.start_proxy()
        proxy.proc.send_signal(signal.SIGINT)
        try:
            rc = proxy.proc.wait(harness.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("proxy did not exit within %ss of SIGINT" % harness.STOP_TIMEOUT)
        self.assertEqual(rc, 0, proxy.log()[-2000:])

    def test_idle_proxy_exits_promptly(self):
        # With no connections there is nothing to drain: exit well before
        # drain_timeout (2 s) runs out... or at most at it.
        proxy = self.start_proxy()
        start = time.monotonic()
        self.assertEqual(proxy.stop(), 0, proxy.log()[-2000:])
        self.assertLess(time.monotonic() - start, 3.0)

    def test_in_flight_request_completes_during_drain(self):
        proxy = self.start_proxy()
        result = {}

        def slow_request():
            result["r"] = harness.curl(proxy, "-w", "\n%{http_code}",
                                       self.origin.url("/delay?ms=1000"))

        t = threading.Thread(target=slow_request)
        t.start()
        time.sleep(0.4)      # the request is now waiting on the origin
        proxy.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        # Draining: new connections are refused (listener closed) or, if
        # accepted, not served normally. Only the refusal is asserted.
        refused = not harness._port_accepts(proxy.port)
        t.join(15)
        try:
            rc = proxy.proc.wait(harness.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            rc = "timeout"
        r = result.get("r")
        self.assertIsNotNone(r)
        self.assertEqual(r.stdout, b"delayed 1000 ms\n\n200", r)
        self.assertEqual(rc, 0, proxy.log()[-2000:])
        self.assertTrue(refused, "listener still accepting after SIGTERM")

    def test_drain_timeout_bounds_shutdown(self):
        # A request that outlives drain_timeout (2 s) must not hold the
        # process: it exits 0 within about drain_timeout.
        proxy = harness.Proxy(response_timeout="10s")
        self.addCleanup(proxy.kill)
        t = threading.Thread(target=harness.curl, args=(proxy, self.origin.url("/delay?ms=6000")))
        t.start()
        time.sleep(0.3)
        start = time.monotonic()
        proxy.proc.send_signal(signal.SIGTERM)
        try:
            rc = proxy.proc.wait(harness.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            rc = "timeout"
        elapsed = time.monotonic() - start
        t.join(15)
        self.assertEqual(rc, 0, proxy.log()[-2000:])
        self.assertLess(elapsed, 2.0 + 1.5, "drain took longer than drain_timeout")


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
# What a client sends before the codec is known: nothing, part of the HTTP/2 preface, all
# of it (then HTTP/2 idles), or part of an HTTP/1.1 request line.
SILENT_OPENINGS = {"nothing": b"", "half_preface": H2_PREFACE[:10],
                   "h2_preface": H2_PREFACE + H2_EMPTY_SETTINGS, "h1_partial": b"GET / HT"}


def timeouts_config(idle="5m", request_headers="10s", drain="10s"):
    def config(port):
        return """drain_timeout: %s
listeners:
  - name: proxy
    address: 127.0.0.1:%d
    filter_chains:
      - filters:
          - name: http_connection_manager
            config: { timeouts: { idle: %s, request_headers: %s } }
""" % (drain, port, idle, request_headers)
    return config


def seconds_until_closed(sock, limit):
    """Reads until the proxy closes; returns the seconds it took (or None past limit)."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < limit:
        try:
            if not sock.recv(65536):
                return time.monotonic() - start
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.monotonic() - start
    return None


class SilentConnectionTest(unittest.TestCase):
    """codec: auto (the default) decides on the first bytes; until then the connection used
    to be on no clock at all: never closed, and holding a drain for all of drain_timeout."""

    def test_silent_clients_do_not_hold_a_drain(self):
        # (A partial HTTP/1.1 request is on its header clock, drain or not: not here.)
        for name in ("nothing", "half_preface", "h2_preface"):
            opening = SILENT_OPENINGS[name]
            with self.subTest(opening=name):
                proxy = harness.Proxy(config=timeouts_config(drain="10s"))
                self.addCleanup(proxy.kill)
                s = harness.connect(proxy)
                self.addCleanup(s.close)
                s.sendall(opening)
                time.sleep(0.3)
                start = time.monotonic()
                proxy.proc.send_signal(signal.SIGTERM)
                try:
                    rc = proxy.proc.wait(harness.STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    rc = "timeout"
                elapsed = time.monotonic() - start
                self.assertEqual(rc, 0, proxy.log()[-2000:])
                self.assertLess(elapsed, 3.0, "a silent connection held the drain for %.1f s" % elapsed)

    def test_silent_clients_are_closed_by_the_idle_and_header_timeouts(self):
        proxy = harness.Proxy(config=timeouts_config(idle="1s", request_headers="1s"))
        try:
            for name, opening in SILENT_OPENINGS.items():
                with self.subTest(opening=name):
                    s = harness.connect(proxy)
                    s.sendall(opening)
                    took = seconds_until_closed(s, 6)
                    s.close()
                    self.assertIsNotNone(took, "still open after 6 s (timeouts are 1 s)")
                    self.assertGreater(took, 0.5)
        finally:
            harness.stop_and_check(proxy)


if __name__ == "__main__":
    harness.main()
