#!/usr/bin/env python3
"""Process lifecycle: "listening on" is logged once, SIGTERM and SIGINT drain
and exit 0, an in-flight request finishes during the drain, and the proxy
stops accepting new connections once draining."""

import signal
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


if __name__ == "__main__":
    harness.main()
