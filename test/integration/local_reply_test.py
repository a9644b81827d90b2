#!/usr/bin/env python3
"""The local_reply filter answers from config without contacting an origin: a mocked API
endpoint served with no origin running, tracker hosts blocked through a route, a body
read from body_file ("map local"), and the access log marking each reply as local (LR)
with its details. The origin's /stats proves nothing reached it."""

import json
import os
import socket
import time
import unittest

import harness

MOCK_BODY = '{"users": [{"id": 1, "name": "Ada"}]}'
FILE_BODY = b'{"from": "body_file", "bytes": "\xc3\xa9"}\n'
# More than the kernel buffers between proxy and client on loopback (a few MiB): some of
# the response is still queued in the proxy when the client's half-close arrives.
BIG_BODY = bytes(range(256)) * (15 * 4096)


def config(port, access_log, body_file, origin_port, big_file):
    q = json.dumps
    return "\n".join([
        "drain_timeout: 2s",
        "listeners:",
        "  - name: proxy",
        "    address: 127.0.0.1:%d" % port,
        "    filter_chains:",
        "      - filters:",
        "          - name: http_connection_manager",
        "            config:",
        "              timeouts: { request_headers: 1s }",
        "              http_filters:",
        "                - name: access_log",
        "                  config:",
        "                    path: %s" % q(access_log),
        "                    json_format:",
        "                      authority: '%REQ(:AUTHORITY)%'",
        "                      path: '%REQ(:PATH)%'",
        "                      status: '%RESPONSE_CODE%'",
        "                      flags: '%RESPONSE_FLAGS%'",
        "                      details: '%RESPONSE_CODE_DETAILS%'",
        "                      upstream: '%UPSTREAM_HOST%'",
        "                - name: local_reply",
        "                - name: router",
        "                  config: { connect_timeout: 2s, response_timeout: 3s }",
        "              route_config:",
        "                virtual_hosts:",
        "                  - name: trackers",
        "                    domains: [tracker.test, '*.tracker.test']",
        "                    routes:",
        "                      - name: block",
        "                        per_filter_config:",
        "                          local_reply:",
        "                            status: 403",
        "                            headers: { content-type: application/json }",
        "                            body: '{\"blocked\": true}'",
        "                            details: blocked_tracker",
        "                  - name: api",
        "                    domains: [api.mock.test]",
        "                    routes:",
        "                      - name: users",
        "                        match: { path: /v1/users, methods: [GET, HEAD] }",
        "                        per_filter_config:",
        "                          local_reply:",
        "                            status: 200",
        "                            headers: { content-type: application/json, x-mock: '1' }",
        "                            body: %s" % q(MOCK_BODY),
        "                            details: mock_users",
        "                      - name: file",
        "                        match: { prefix: /v1/file }",
        "                        per_filter_config:",
        "                          local_reply: { status: 201, body_file: %s, details: map_local }"
        % q(body_file),
        "                      - name: big",
        "                        match: { path: /v1/big, methods: [POST] }",
        "                        per_filter_config:",
        "                          local_reply: { status: 200, body_file: %s }" % q(big_file),
        "                      - name: created",
        "                        match: { path: /v1/users, methods: [POST] }",
        "                        per_filter_config:",
        "                          local_reply: { status: 204 }",
        "                      - name: rest",
        "                        per_filter_config:",
        "                          local_reply: { status: 404, body: 'no such mock', details: no_mock }",
        "                  - name: origin",
        "                    domains: ['127.0.0.1']",
        "                    routes:",
        "                      - name: blocked",
        "                        match: { prefix: /status/ }",
        "                        per_filter_config:",
        "                          local_reply: { status: 451, body: 'unavailable', details: blocked_path }",
        "                      - name: passthrough",
        "                        per_filter_config: { local_reply: {} }",
        "                  - name: everything-else",
        "                    domains: ['*']",
        "                    routes: [ { name: any } ]",
    ]) + "\n"


class LocalReplyTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        d = harness.tmpdir("localreply")
        cls.access_log = os.path.join(d, "access.log")
        cls.body_file = os.path.join(d, "mock.json")
        with open(cls.body_file, "wb") as f:
            f.write(FILE_BODY)
        cls.big_file = os.path.join(d, "big.bin")
        with open(cls.big_file, "wb") as f:
            f.write(BIG_BODY)
        cls.origin = harness.OriginProcess()
        try:
            cls.proxy = harness.Proxy(config=lambda port: config(
                port, cls.access_log, cls.body_file, cls.origin.port, cls.big_file))
        except Exception:
            cls.origin.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            harness.stop_and_check(cls.proxy)
        finally:
            cls.origin.stop()

    def curl(self, *args, **kw):
        return harness.curl(self.proxy, *args, **kw)

    def fetch(self, url, *args):
        """(status, headers dict (lower-case names), body) through the proxy."""
        r = self.curl("-i", *args, url)
        self.assertEqual(r.returncode, 0, r.stderr)
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(lines[0].split(" ")[1]), headers, body

    def log_entry(self, path, timeout=5.0):
        """The access log entry for `path`, waiting for the log's writer thread."""
        deadline = time.monotonic() + timeout
        while True:
            rows = harness.read_json_lines(self.access_log, timeout=0)
            for row in rows:
                if row.get("path") == path:
                    return row
            if time.monotonic() >= deadline:
                self.fail("no access log entry for %s in %r" % (path, rows))
            time.sleep(0.05)

    def test_mocked_endpoint_needs_no_origin(self):
        # api.mock.test does not resolve, and nothing listens for it: the answer is local.
        status, headers, body = self.fetch("http://api.mock.test/v1/users")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(headers["x-mock"], "1")
        self.assertEqual(headers["content-length"], str(len(MOCK_BODY)))
        self.assertEqual(json.loads(body), json.loads(MOCK_BODY))
        entry = self.log_entry("/v1/users")
        self.assertEqual(entry["status"], 200)
        self.assertEqual(entry["flags"], "LR")
        self.assertEqual(entry["details"], "mock_users")
        self.assertIsNone(entry["upstream"])

    def test_head_gets_headers_without_body(self):
        status, headers, body = self.fetch("http://api.mock.test/v1/users", "-I")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-length"], str(len(MOCK_BODY)))
        self.assertEqual(body, b"")

    def test_post_with_body_gets_204_and_connection_stays_usable(self):
        # Two requests on one connection: the unread request body must not spoil the next.
        r = self.curl("-s", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n",
                      "--data-binary", "x" * 5000, "http://api.mock.test/v1/users",
                      "--next", "-s", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n",
                      "-x", "http://" + self.proxy.address, "http://api.mock.test/v1/users")
        self.assertEqual(r.stdout.decode().split("\n")[:2], ["204 1", "200 0"], r.stderr)

    def post_then_get(self, body_size):
        """A POST answered by a local reply before its body is read, then a GET: returns
        [(status, new connections)] for both."""
        r = self.curl("-s", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n",
                      "--data-binary", "@-", "http://api.mock.test/v1/users",
                      "--next", "-s", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n",
                      "-x", "http://" + self.proxy.address, "http://api.mock.test/v1/users",
                      input_bytes=b"x" * body_size)
        return r.stdout.decode().split("\n")[:2]

    def start_post(self, path):
        """A raw connection that sent a POST announcing 10,000 body bytes and sent 100."""
        s = harness.connect(self.proxy)
        s.sendall(b"POST http://api.mock.test%s HTTP/1.1\r\nHost: api.mock.test\r\n"
                  b"Content-Length: 10000\r\n\r\n%s" % (path.encode(), b"x" * 100))
        return s

    def test_unread_body_is_skipped_and_the_connection_reused(self):
        # 40 KB arrive over several reads after the 204 went out: the proxy reads them to
        # the end of the request, drops them, and serves the next request on the connection.
        self.assertEqual(self.post_then_get(40000), ["204 1", "200 0"])

    def test_too_big_an_unread_body_closes_the_connection(self):
        # Past 64 KiB it is cheaper to start over: the client reconnects for the next one.
        self.assertEqual(self.post_then_get(1000000), ["204 1", "200 1"])

    def test_stalled_unread_body_is_closed_without_a_408(self):
        # The client announces 10,000 bytes, sends 100 and stops: it got its answer, so the
        # request header timeout closes the connection without an unsolicited 408.
        s = self.start_post("/v1/users")
        try:
            reader = harness.SocketReader(s)
            r = harness.read_response(reader)
            self.assertEqual(r.status, 204)
            closed, extra = harness.wait_closed(reader, timeout=5.0)
            self.assertTrue(closed, "the proxy kept a stalled connection open")
            self.assertEqual(extra, b"")
        finally:
            s.close()

    def test_idle_after_a_skipped_body_is_just_idle(self):
        # The body ends after the answer; then the client waits longer than the request header
        # timeout (1 s here) before its next request: no unsolicited 408, and the next request
        # on the same connection is served.
        s = self.start_post("/v1/users")
        try:
            reader = harness.SocketReader(s)
            self.assertEqual(harness.read_response(reader).status, 204)
            s.sendall(b"x" * 9900)
            time.sleep(1.6)
            s.sendall(b"GET http://api.mock.test/v1/users HTTP/1.1\r\nHost: api.mock.test\r\n\r\n")
            r = harness.read_response(reader)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, MOCK_BODY.encode())
        finally:
            s.close()

    def test_half_close_while_skipping_keeps_the_response(self):
        # The client sends part of its body, stops sending (half-close), and only then reads
        # its large early response: all of it must arrive, not be cut off by the close.
        s = self.start_post("/v1/big")
        try:
            s.shutdown(socket.SHUT_WR)
            time.sleep(0.5)  # the half-close reaches the proxy while the response is queued
            r = harness.read_response(harness.SocketReader(s), timeout=20.0)
            self.assertEqual(r.status, 200)
            self.assertEqual(len(r.body), len(BIG_BODY))
            self.assertEqual(r.body, BIG_BODY)
        finally:
            s.close()

    def test_unmatched_path_of_mocked_host(self):
        status, headers, body = self.fetch("http://api.mock.test/v2/anything")
        self.assertEqual((status, body), (404, b"no such mock"))
        self.assertTrue(headers["content-type"].startswith("text/plain"))

    def test_body_file(self):
        status, headers, body = self.fetch("http://api.mock.test/v1/file.json")
        self.assertEqual(status, 201)
        self.assertEqual(body, FILE_BODY)
        self.assertEqual(self.log_entry("/v1/file.json")["details"], "map_local")

    def test_tracker_blocked_by_route(self):
        for host in ("tracker.test", "pixel.tracker.test"):
            status, headers, body = self.fetch("http://%s/collect?id=1" % host)
            self.assertEqual(status, 403)
            self.assertEqual(headers["content-type"], "application/json")
            self.assertEqual(json.loads(body), {"blocked": True})
        entry = self.log_entry("/collect?id=1")
        self.assertEqual(entry["flags"], "LR")
        self.assertEqual(entry["details"], "blocked_tracker")

    def test_blocked_requests_never_reach_the_origin(self):
        before = self.origin.stats()
        status, _, body = self.fetch(self.origin.url("/status/200"))
        self.assertEqual((status, body), (451, b"unavailable"))
        status, _, body = self.fetch(self.origin.url("/status/500"), "--data-binary", "payload")
        self.assertEqual(status, 451)
        after_blocked = self.origin.stats()
        self.assertEqual(after_blocked["requests"], before["requests"])
        self.assertEqual(after_blocked["connections"], before["connections"])
        self.assertEqual(self.log_entry("/status/200")["details"], "blocked_path")
        # An empty per-route config turns the reply off: this one goes to the origin.
        status, _, body = self.fetch(self.origin.url("/echo?through=1"))
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["target"], "/echo?through=1")
        after = self.origin.stats()
        self.assertEqual(after["requests"], before["requests"] + 1)
        self.assertNotIn("/status/200", [t for t in after["targets"]])


class LocalReplyConfigErrorTest(unittest.TestCase):

    def validate(self, text):
        path = os.path.join(harness.tmpdir("localreply-validate"), "bad.yaml")
        with open(path, "w") as f:
            f.write(text)
        r = harness.subprocess.run([harness.interpose_bin(), "-c", path, "--mode", "validate"],
                                   stdout=harness.subprocess.PIPE, stderr=harness.subprocess.PIPE,
                                   timeout=30, env=harness.clean_env())
        return r.returncode, r.stderr.decode(), path

    def chain(self, local_reply_config):
        return "\n".join([
            "listeners:",
            "  - name: proxy",
            "    address: 127.0.0.1:18081",
            "    filter_chains:",
            "      - filters:",
            "          - name: http_connection_manager",
            "            config:",
            "              http_filters:",
            "                - name: local_reply",
            "                  config:",
        ] + ["                    " + line for line in local_reply_config] + [
            "                - name: router",
        ]) + "\n"

    def test_errors_name_file_line_and_column(self):
        cases = [
            (["status: 101"], 11, 29, "config.status: 1xx statuses are interim"),
            (["status: 200", "headers: { 'x y': z }"], 12, 32, "config.headers.x y: expected a header name"),
            (["status: 200", "headers: { x: \"a\\r\\nb\" }"], 12, 35,
             "config.headers.x: header values cannot contain CR, LF or NUL"),
            (["status: 200", "body_file: /nonexistent/mock.json"], 12, 32,
             "config.body_file: cannot read '/nonexistent/mock.json'"),
        ]
        for lines, line, col, message in cases:
            with self.subTest(config=lines):
                rc, err, path = self.validate(self.chain(lines))
                self.assertEqual(rc, 1, err)
                self.assertIn("%s:%d:%d: listeners[0].filter_chains[0].filters[0].config.http_filters[0].%s"
                              % (path, line, col, message), err)


if __name__ == "__main__":
    harness.main()
