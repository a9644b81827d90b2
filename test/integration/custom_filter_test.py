#!/usr/bin/env python3
"""The C++ extension path end to end: the example binary built by interpose_binary()
(//examples/record_exchange:interpose_with_recorder, passed as --interpose) has the
custom `record_exchange` filter next to the built-in ones. Requests sent through it with
curl and httpx each come out as one JSON line with method, URL, headers, status, body
sizes and the first bytes of each body."""

import json
import os
import subprocess
import sys
import time
import unittest

import harness

PREVIEW = 64


def config(port, record_path):
    return "\n".join([
        "drain_timeout: 2s",
        "listeners:",
        "  - name: proxy",
        "    address: 127.0.0.1:%d" % port,
        "    filter_chains:",
        "      - filters:",
        "          - name: http_connection_manager",
        "            config:",
        "              http_filters:",
        "                - name: record_exchange",
        "                  config: { path: %s, max_body_bytes: %d }" % (json.dumps(record_path), PREVIEW),
        "                - name: router",
        "                  config: { connect_timeout: 2s, response_timeout: 3s }",
    ]) + "\n"


def httpx_python():
    for py in (sys.executable, "/usr/bin/python3"):
        if subprocess.run([py, "-c", "import httpx"], capture_output=True).returncode == 0:
            return py
    return None


HTTPX_SCRIPT = r'''
import json, sys, httpx
proxy, url = sys.argv[1], sys.argv[2]
major, minor = (int(x) for x in httpx.__version__.split(".")[:2])
kw = {"proxy": proxy} if (major, minor) >= (0, 26) else {"proxies": proxy}
with httpx.Client(timeout=10, **kw) as c:
    g = c.get(url + "?via=httpx", headers={"x-client": "httpx"})
    p = c.put(url + "?via=httpx-put", content=b"\x00\xffbinary" + b"z" * 200)
    print(json.dumps([g.status_code, p.status_code]))
'''


class RecordExchangeTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.record_path = os.path.join(harness.tmpdir("recorder"), "exchanges.jsonl")
        cls.origin = harness.OriginProcess()
        try:
            cls.proxy = harness.Proxy(config=lambda port: config(port, cls.record_path))
        except Exception:
            cls.origin.stop()
            raise
        try:
            cls.run_clients()
            cls.records = harness.read_json_lines(cls.record_path, timeout=5, at_least=cls.expected)
        finally:
            cls.exit_code = cls.proxy.stop()
            cls.origin.stop()

    @classmethod
    def run_clients(cls):
        o = cls.origin
        curl = lambda *a, **kw: harness.curl(cls.proxy, "-o", "/dev/null", *a, **kw)
        curl("-H", "X-Trace: abc", "-H", "Authorization: Bearer s3cret", o.url("/echo?via=curl"))
        curl("--data-binary", "@-", "-H", "Content-Type: text/plain", o.url("/echo?via=curl-post"),
             input_bytes=b"hello " * 50)
        curl(o.url("/bytes?n=1000"))
        curl("-I", o.url("/status/204"))
        curl("http://127.0.0.1:%d/refused" % harness.closed_port())
        cls.expected = 5
        cls.httpx = httpx_python()
        if cls.httpx:
            r = subprocess.run([cls.httpx, "-c", HTTPX_SCRIPT, cls.proxy.url, o.url("/echo")],
                               capture_output=True, timeout=60, env=harness.clean_env())
            if r.returncode != 0:
                raise AssertionError(r.stderr.decode())
            cls.httpx_statuses = json.loads(r.stdout)
            cls.expected += 2

    def record(self, url_suffix):
        found = [r for r in self.records if r["url"].endswith(url_suffix)]
        self.assertEqual(len(found), 1, "no single record for %s in %s" % (url_suffix, self.records))
        return found[0]

    def test_proxy_exited_cleanly(self):
        self.assertEqual(self.exit_code, 0)

    def test_one_line_per_exchange(self):
        self.assertEqual(len(self.records), self.expected, self.records)
        for r in self.records:
            for key in ("start_time", "method", "url", "request_headers", "status", "response_headers",
                        "request_body_size", "response_body_size", "request_body", "response_body",
                        "duration_ms", "error"):
                self.assertIn(key, r)

    def test_curl_get(self):
        r = self.record("/echo?via=curl")
        self.assertEqual(r["method"], "GET")
        self.assertEqual(r["url"], "http://%s/echo?via=curl" % self.origin.authority)
        headers = dict(r["request_headers"])
        self.assertEqual(headers["x-trace"], "abc")
        self.assertEqual(headers["authorization"], "[redacted]")
        self.assertEqual(r["status"], 200)
        self.assertEqual(dict(r["response_headers"])["content-type"], "application/json")
        self.assertEqual(r["request_body_size"], 0)
        self.assertGreater(r["response_body_size"], 0)
        self.assertTrue(r["response_body"].startswith('{'), r["response_body"])
        self.assertIsNone(r["error"])

    def test_curl_post_body_preview(self):
        r = self.record("/echo?via=curl-post")
        self.assertEqual(r["method"], "POST")
        self.assertEqual(r["request_body_size"], 300)
        self.assertEqual(r["request_body"], ("hello " * 50)[:PREVIEW])
        self.assertTrue(r["request_body_truncated"])
        self.assertEqual(dict(r["request_headers"])["content-type"], "text/plain")

    def test_sizes_and_head(self):
        r = self.record("/bytes?n=1000")
        self.assertEqual((r["status"], r["response_body_size"]), (200, 1000))
        self.assertTrue(r["response_body"])
        self.assertTrue(r["response_body_truncated"])
        head = self.record("/status/204")
        self.assertEqual((head["method"], head["status"], head["response_body_size"]), ("HEAD", 204, 0))

    def test_error_is_recorded(self):
        r = self.record("/refused")
        self.assertEqual(r["status"], 502)
        self.assertIn("connection refused", r["error"])

    def test_httpx(self):
        harness.require(self.httpx, harness.HTTPX_MISSING)
        self.assertEqual(self.httpx_statuses, [200, 200])
        g = self.record("/echo?via=httpx")
        self.assertEqual(dict(g["request_headers"])["x-client"], "httpx")
        self.assertIn("python-httpx", dict(g["request_headers"])["user-agent"])
        p = self.record("/echo?via=httpx-put")
        self.assertEqual((p["method"], p["request_body_size"]), ("PUT", 208))
        # Binary bytes are kept, as their Latin-1 reading, and the line stays valid JSON.
        self.assertTrue(p["request_body"].startswith("\x00\xffbinary"), p["request_body"])


if __name__ == "__main__":
    harness.main()
