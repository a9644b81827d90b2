#!/usr/bin/env python3
"""What became of a CONNECT tunnel, and block pages for HTTPS (issue: the first hour).

- The access log line of a CONNECT names the filter chain that took its tunnel, whether
  it was intercepted or passed through and why (%TUNNEL%, in the default format), counts
  the tunnel's bytes, and says why an intercepted tunnel ended early (the TLS alert of a
  client that refused our certificate).
- A host blocked with local_reply used to answer the CONNECT itself with 403, so curl
  failed (exit 56) and a browser showed a generic error. When the tunnel would be
  intercepted, the CONNECT now goes through and the request inside it gets the reply,
  body and all; a tunnel that would pass through can only be refused at the CONNECT.
"""

import os
import time
import unittest

import harness


def log_lines(path, at_least, timeout=5.0):
    """The text access log's lines, waiting (bounded) until there are at_least."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(path) as f:
                lines = [line.rstrip("\n") for line in f if line.strip()]
        except FileNotFoundError:
            lines = []
        if len(lines) >= at_least or time.monotonic() >= deadline:
            return lines
        time.sleep(0.05)


class TunnelTest(harness.InterceptTestCase):
    proxy_per_test = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.outer_log = os.path.join(cls.ca_dir, "outer.log")
        cls.intercept_kwargs = {"outer_access_log": cls.outer_log,
                                "blocked_hosts": ("blocked.test", "pinned.localhost")}

    def setUp(self):
        if os.path.exists(self.outer_log):
            os.unlink(self.outer_log)
        super().setUp()

    def connect_line(self, index=-1, at_least=1):
        lines = [l for l in log_lines(self.outer_log, at_least) if '"CONNECT ' in l]
        self.assertGreaterEqual(len(lines), at_least, lines)
        return lines[index]

    def test_intercepted_tunnel_is_logged_with_its_chain(self):
        r = self.curl("--cacert", self.proxy_ca, self.https_url("/bytes?n=1000"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout), 1000, r.stdout[:200])
        self.wait_closed_and_logged()
        line = self.connect_line()
        self.assertTrue(line.endswith(" intercepted:intercept"), line)
        fields = line.split('"')[2].split()   # status flags received sent duration
        self.assertEqual(fields[0], "200", line)
        self.assertGreater(int(fields[2]), 300, line)    # the TLS bytes from the client
        self.assertGreater(int(fields[3]), 1000, line)   # the response, encrypted

    def test_passthrough_tunnel_says_which_condition_chose_it(self):
        r = self.curl("--cacert", self.origin_ca, self.https_url("/bytes?n=10", host="app.pinned.test"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_closed_and_logged()
        line = self.connect_line()
        self.assertTrue(line.endswith(" passthrough:passthrough(server_names=*.pinned.test)"), line)

    def test_refused_certificate_is_named_then_the_host_passes_through(self):
        r = self.curl(self.https_url("/", host="pinme3.test"))   # does not trust our CA
        self.assertNotEqual(r.returncode, 0)
        self.wait_closed_and_logged()
        line = self.connect_line()
        self.assertIn('"the client refused our certificate (TLS alert: unknown CA)" intercepted:intercept', line)
        r = self.curl("--cacert", self.origin_ca, self.https_url("/bytes?n=10", host="pinme3.test"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_closed_and_logged(lines=2)
        line = self.connect_line(at_least=2)
        self.assertTrue(line.endswith(" passthrough:learned(interception_rejected)"), line)

    def test_plain_requests_have_no_tunnel_field(self):
        origin = harness.OriginProcess()
        try:
            r = self.curl("-o", "/dev/null", "-w", "%{http_code}", origin.url("/status/204"))
        finally:
            origin.stop()
        self.assertEqual(r.stdout, b"204", r.stderr)
        lines = log_lines(self.outer_log, 1)
        self.assertTrue(lines and lines[-1].endswith(" -"), lines)

    def test_blocked_https_host_shows_the_block_page(self):
        r = self.curl("--cacert", self.proxy_ca, "-w", "\n%{http_code}", "https://blocked.test/pixel")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"blocked by interpose\n\n403")
        self.wait_closed_and_logged()
        self.assertTrue(self.connect_line().endswith(" intercepted:intercept"))

    def test_the_block_holds_even_when_the_inner_chain_lacks_the_route(self):
        # The reply travels with the tunnel: the intercepting chain's own routes cannot let
        # the request through to the blocked host.
        self.proxy.stop()
        self.proxy = self.start_proxy(block_outer_only=True)
        r = self.curl("--cacert", self.proxy_ca, "-o", "/dev/null", "-w", "%{http_code}",
                      self.https_url("/bytes?n=5", host="pinme4.test"))
        self.assertEqual(r.stdout, b"200", r.stderr)   # not blocked: the control
        self.proxy.stop()
        self.proxy = self.start_proxy(block_outer_only=True, blocked_hosts=("pinme4.test",))
        r = self.curl("--cacert", self.proxy_ca, "-w", "\n%{http_code}", self.https_url("/bytes?n=5", host="pinme4.test"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"blocked by interpose\n\n403")

    def test_blocked_plain_http_host(self):
        r = self.curl("-w", "\n%{http_code}", "http://blocked.test/pixel")
        self.assertEqual(r.stdout, b"blocked by interpose\n\n403")

    def test_blocked_passthrough_host_is_refused_at_the_connect(self):
        # Not intercepted, so nothing could show a page inside the tunnel: 403 to CONNECT.
        r = self.curl("--cacert", self.origin_ca, self.https_url("/", host="pinned.localhost"))
        self.assertEqual(r.returncode, 56, r.stderr)
        self.assertIn(b"403", r.stderr)
        line = self.connect_line()
        self.assertIn('" 403 LR ', line)
        self.assertTrue(line.endswith(" -"), line)   # no tunnel was set up

    def wait_closed_and_logged(self, lines=1):
        """The CONNECT line is written when its tunnel ends: wait for it (bounded)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if len([l for l in log_lines(self.outer_log, 0, 0) if '"CONNECT ' in l]) >= lines:
                return
            time.sleep(0.05)


if __name__ == "__main__":
    harness.main()
