#!/usr/bin/env python3
"""The access_log filter writes one JSON object per request with the right
method, status, byte counts, duration, upstream and flags."""

import json
import os
import time
import unittest

import harness

BODY_LEN = 1234
BYTES_N = 5000


class AccessLogTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.origin = harness.OriginProcess()
        cls.log_path = os.path.join(harness.tmpdir("accesslog"), "access.log")
        try:
            cls.proxy = harness.Proxy(access_log=cls.log_path)
        except Exception:
            cls.origin.stop()
            raise
        try:
            cls.refused_port = harness.closed_port()
            o = cls.origin
            c = lambda *a, **kw: harness.curl(cls.proxy, "-o", "/dev/null", *a, **kw)
            c(o.url("/echo?x=1"))
            c("--data-binary", "@-", o.url("/echo?post=1"), input_bytes=b"p" * BODY_LEN)
            c(o.url("/status/404"))
            c("-I", o.url("/bytes?n=%d" % BYTES_N))
            c(o.url("/bytes?n=%d" % BYTES_N))
            c(o.url("/delay?ms=300"))
            c("http://127.0.0.1:%d/refused" % cls.refused_port)
            cls.expected_lines = 7
            # Entries should appear while the proxy runs (not only at exit).
            deadline = time.monotonic() + 5
            cls.lines_while_running = []
            while time.monotonic() < deadline:
                cls.lines_while_running = cls.read_lines()
                if len(cls.lines_while_running) >= cls.expected_lines:
                    break
                time.sleep(0.1)
        finally:
            cls.exit_code = cls.proxy.stop()
            cls.origin.stop()
        cls.lines = cls.read_lines()

    @classmethod
    def read_lines(cls):
        if not os.path.exists(cls.log_path):
            return []
        with open(cls.log_path, "rb") as f:
            return [l for l in f.read().split(b"\n") if l.strip()]

    def entries(self):
        return [json.loads(l) for l in self.lines]

    def entry(self, method, path_prefix):
        for e in self.entries():
            path = str(e.get("path", ""))
            # Accept origin-form or absolute-form paths.
            if e.get("method") == method and (path.startswith(path_prefix)
                                              or ("/" + path.split("/", 3)[-1]).startswith(path_prefix)):
                return e
        self.fail("no %s %s entry in:\n%s" % (method, path_prefix, b"\n".join(self.lines).decode()))

    def test_proxy_exited_cleanly(self):
        self.assertEqual(self.exit_code, 0)

    def test_one_json_object_per_line(self):
        self.assertEqual(len(self.lines), self.expected_lines, self.lines)
        for line in self.lines:
            obj = json.loads(line)
            self.assertIsInstance(obj, dict)
            for key in ("method", "path", "protocol", "response_code", "bytes_received",
                        "bytes_sent", "duration_ms", "upstream_host", "response_flags",
                        "authority"):
                self.assertIn(key, obj, line)

    def test_written_while_running(self):
        self.assertEqual(len(self.lines_while_running), self.expected_lines,
                         "access log not flushed within 5 s of the requests")

    def test_get(self):
        e = self.entry("GET", "/echo?x=1")
        self.assertEqual(e["response_code"], 200)
        self.assertEqual(e["protocol"], "HTTP/1.1")
        self.assertEqual(e["authority"], self.origin.authority)
        self.assertEqual(e["upstream_host"], self.origin.authority)
        self.assertIn(e["response_flags"], ("", "-", None, []))

    def test_post_bytes_received(self):
        e = self.entry("POST", "/echo?post=1")
        self.assertEqual(e["response_code"], 200)
        # Body bytes, or body plus request head: either way within reason.
        self.assertGreaterEqual(e["bytes_received"], BODY_LEN)
        self.assertLess(e["bytes_received"], BODY_LEN + 1024)

    def test_status_404(self):
        e = self.entry("GET", "/status/404")
        self.assertEqual(e["response_code"], 404)

    def test_bytes_sent(self):
        e = self.entry("GET", "/bytes?n=%d" % BYTES_N)
        self.assertEqual(e["response_code"], 200)
        self.assertGreaterEqual(e["bytes_sent"], BYTES_N)
        self.assertLess(e["bytes_sent"], BYTES_N + 1024)
        self.assertLess(e["bytes_received"], 1024)

    def test_head_sends_no_body_bytes(self):
        e = self.entry("HEAD", "/bytes?n=%d" % BYTES_N)
        self.assertEqual(e["response_code"], 200)
        self.assertLess(e["bytes_sent"], BYTES_N)

    def test_duration(self):
        e = self.entry("GET", "/delay?ms=300")
        self.assertGreaterEqual(float(e["duration_ms"]), 300)
        self.assertLess(float(e["duration_ms"]), 3000)

    def test_refused_upstream(self):
        e = self.entry("GET", "/refused")
        self.assertEqual(e["response_code"], 502)
        self.assertEqual(e["authority"], "127.0.0.1:%d" % self.refused_port)
        self.assertNotIn(e["response_flags"], ("", "-", None, []),
                         "a refused upstream should be flagged")


if __name__ == "__main__":
    harness.main()
