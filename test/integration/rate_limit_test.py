#!/usr/bin/env python3
"""The rate_limit filter with the real binary: 429s with Retry-After and RateLimit-*
headers once a key's burst is spent (also across worker threads), separate buckets per
API key, a stricter per-route limit and a route that turns the filter off, the RL flag
in the access log, dry_run letting everything through with a throttled log line, and
delay mode holding requests instead of rejecting them."""

import os
import threading
import time
import unittest

import harness


def config(port, filter_config, access_log=None):
    """A plain-HTTP proxy config: [access_log,] rate_limit (filter_config, a YAML flow
    map), router; routes: /bytes has its own limit, /status/ has the filter off."""
    lines = [
        "drain_timeout: 2s",
        "listeners:",
        "  - name: proxy",
        "    address: 127.0.0.1:%d" % port,
        "    filter_chains:",
        "      - filters:",
        "          - name: http_connection_manager",
        "            config:",
        "              http_filters:",
    ]
    if access_log:
        lines += [
            "                - name: access_log",
            "                  config: { path: %s, format: json }" % access_log,
        ]
    lines += [
        "                - name: rate_limit",
        "                  config: %s" % filter_config,
        "                - name: router",
        "                  config: { connect_timeout: 2s, response_timeout: 5s }",
        "              route_config:",
        "                virtual_hosts:",
        "                  - name: all",
        "                    domains: [\"*\"]",
        "                    routes:",
        "                      - name: strict",
        "                        match: { prefix: /bytes }",
        "                        per_filter_config:",
        "                          rate_limit: { key: [\"header:x-api-key\"], rate: 1/m, burst: 2 }",
        "                      - name: free",
        "                        match: { prefix: /status/ }",
        "                        per_filter_config: { rate_limit: { disabled: true } }",
        "                      - name: default",
        "                        match: { prefix: / }",
    ]
    return "\n".join(lines) + "\n"


class Client:
    """One keep-alive connection to the proxy, sending absolute-form GETs."""

    def __init__(self, proxy, origin):
        self.origin = origin
        self.sock = harness.connect(proxy)
        self.reader = harness.SocketReader(self.sock)

    def request(self, path, api_key=None):
        self.send(path, api_key)
        return harness.read_response(self.reader)

    def send(self, path, api_key=None):
        head = ["GET %s HTTP/1.1" % self.origin.url(path), "Host: %s" % self.origin.authority]
        if api_key is not None:
            head.append("X-Api-Key: %s" % api_key)
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())

    def close(self):
        self.sock.close()


class ProxyWithOrigin(unittest.TestCase):
    filter_config = None
    with_access_log = False

    @classmethod
    def setUpClass(cls):
        cls.origin = harness.OriginProcess()
        cls.log_path = None
        if cls.with_access_log:
            cls.log_path = os.path.join(harness.tmpdir("ratelimit"), "access.log")
        try:
            cls.proxy = harness.Proxy(
                concurrency=2, config=lambda port: config(port, cls.filter_config, cls.log_path))
        except Exception:
            cls.origin.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            harness.stop_and_check(cls.proxy)
        finally:
            cls.origin.stop()

    def client(self):
        c = Client(self.proxy, self.origin)
        self.addCleanup(c.close)
        return c

    def origin_saw(self, needle):
        return [t for t in self.origin.stats()["targets"] if needle in t]


class RejectTest(ProxyWithOrigin):
    # 1/m: nothing refills while a test runs, so counts are exact.
    filter_config = '{ key: ["header:x-api-key"], rate: 1/m, burst: 5, response_headers: true }'
    with_access_log = True

    def test_burst_then_429_with_headers_on_keep_alive(self):
        c = self.client()
        responses = [c.request("/echo?t=burst-%d" % i, api_key="burst") for i in range(8)]
        self.assertEqual([r.status for r in responses], [200] * 5 + [429] * 3, responses)
        # Under the limit: RateLimit-Remaining counts down (response_headers: true).
        self.assertEqual([r.header("RateLimit-Remaining") for r in responses[:5]], ["4", "3", "2", "1", "0"])
        for r in responses[5:]:
            self.assertEqual(r.body, b"rate limit exceeded\n")
            retry_after = int(r.header("Retry-After"))
            self.assertTrue(1 <= retry_after <= 60, retry_after)
            self.assertEqual(r.header("RateLimit-Limit"), "5")
            self.assertEqual(r.header("RateLimit-Remaining"), "0")
            self.assertEqual(int(r.header("RateLimit-Reset")), retry_after)
            self.assertEqual(r.header("RateLimit-Policy"), "1;w=60;burst=5")
        # Rejected requests never reach the origin.
        self.assertEqual(len(self.origin_saw("t=burst-")), 5)

    def test_burst_is_shared_across_connections_and_workers(self):
        statuses = []
        for i in range(12):
            c = self.client()   # fresh connections land on both workers (SO_REUSEPORT)
            statuses.append(c.request("/echo?t=shared-%d" % i, api_key="shared").status)
            c.close()
        self.assertEqual(statuses.count(200), 5, statuses)
        self.assertEqual(statuses.count(429), 7, statuses)

    def test_api_keys_have_separate_buckets(self):
        c = self.client()
        for _ in range(5):
            self.assertEqual(c.request("/echo", api_key="alice").status, 200)
        self.assertEqual(c.request("/echo", api_key="alice").status, 429)
        self.assertEqual(c.request("/echo", api_key="bob").status, 200)
        self.assertEqual(c.request("/echo", api_key="alice").status, 429)

    def test_per_route_limit_is_stricter_and_separate(self):
        c = self.client()
        strict = [c.request("/bytes?n=10", api_key="route") for _ in range(4)]
        self.assertEqual([r.status for r in strict], [200, 200, 429, 429])
        self.assertEqual(strict[2].header("RateLimit-Policy"), "1;w=60;burst=2")
        self.assertEqual(strict[2].header("RateLimit-Limit"), "2")
        # The same key elsewhere uses the filter's own limit and buckets.
        self.assertEqual(c.request("/echo", api_key="route").status, 200)

    def test_route_can_disable_the_filter(self):
        c = self.client()
        statuses = [c.request("/status/204?i=%d" % i, api_key="free").status for i in range(20)]
        self.assertEqual(statuses, [204] * 20)

    def test_curl_sees_429(self):
        for _ in range(5):
            harness.curl(self.proxy, "-o", "/dev/null", "-H", "X-Api-Key: curl", self.origin.url("/echo"))
        r = harness.curl(self.proxy, "-i", "-H", "X-Api-Key: curl", self.origin.url("/echo"))
        head = r.stdout.decode("latin-1").lower()
        self.assertTrue(head.startswith("http/1.1 429"), head)
        self.assertIn("retry-after: ", head)
        self.assertIn("ratelimit-remaining: 0", head)

    def test_access_log_shows_rl_flag(self):
        c = self.client()
        for i in range(6):
            c.request("/echo?t=logged-%d" % i, api_key="logged")
        rows = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            rows = [r for r in harness.read_json_lines(self.log_path, timeout=0.2)
                    if "t=logged-" in str(r.get("path"))]
            if len(rows) >= 6:
                break
            time.sleep(0.1)
        self.assertEqual(len(rows), 6, rows)
        limited = [r for r in rows if r["response_code"] == 429]
        self.assertEqual(len(limited), 1, rows)
        self.assertIn("RL", str(limited[0]["response_flags"]))
        self.assertEqual(limited[0]["error"], "local_rate_limited")
        for r in rows:
            if r["response_code"] == 200:
                self.assertNotIn("RL", str(r["response_flags"]))


class DryRunTest(ProxyWithOrigin):
    filter_config = '{ key: ["header:x-api-key"], rate: 1/m, burst: 1, mode: dry_run }'
    with_access_log = True

    def test_everything_passes_with_one_log_line_a_second(self):
        c = self.client()
        statuses = [c.request("/echo?t=dry-%d" % i, api_key="dry").status for i in range(20)]
        self.assertEqual(statuses, [200] * 20)
        self.assertEqual(len(self.origin_saw("t=dry-")), 20)
        self.assertTrue(harness.wait_for_log(self.proxy, "would reject"), self.proxy.log())
        lines = [l for l in self.proxy.log().splitlines() if "would reject" in l]
        # 19 would-be rejections within well under 2 s: at most two lines, with counts.
        self.assertLessEqual(len(lines), 2, lines)
        self.assertIn('header:x-api-key="dry"', lines[0])
        rows = harness.read_json_lines(self.log_path, at_least=20)
        for r in rows:
            self.assertNotIn("RL", str(r["response_flags"]))


class DelayTest(ProxyWithOrigin):
    filter_config = ('{ key: ["header:x-api-key"], rate: 5/s, burst: 1, mode: delay, max_delay: 1s }')

    def test_sequential_requests_are_delayed_not_rejected(self):
        c = self.client()
        start = time.monotonic()
        statuses = [c.request("/echo", api_key="seq").status for _ in range(4)]
        elapsed = time.monotonic() - start
        self.assertEqual(statuses, [200] * 4)
        # One token every 200 ms after the first: three waits of up to 200 ms each, less
        # the time each request itself took.
        self.assertGreaterEqual(elapsed, 0.45)
        self.assertLess(elapsed, 3.0)

    def test_beyond_max_delay_is_429(self):
        # 9 requests at once: tokens at 0, 200, ..., 1000 ms fit max_delay (6), the rest not.
        clients = [self.client() for _ in range(9)]
        results = [None] * len(clients)

        def run(i):
            results[i] = (harness.read_response(clients[i].reader, timeout=10), time.monotonic())

        for c in clients:
            c.send("/echo", api_key="burst")
        start = time.monotonic()
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        statuses = [r[0].status for r in results]
        self.assertEqual(statuses.count(200) + statuses.count(429), 9, statuses)
        self.assertGreaterEqual(statuses.count(200), 6, statuses)
        self.assertGreaterEqual(statuses.count(429), 1, statuses)
        slowest_ok = max(t for r, t in results if r.status == 200) - start
        self.assertGreaterEqual(slowest_ok, 0.7)
        for r, _ in results:
            if r.status == 429:
                self.assertIsNotNone(r.header("Retry-After"))


if __name__ == "__main__":
    harness.main()
