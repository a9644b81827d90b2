#!/usr/bin/env python3
"""What a hostile client can send must not crash or stall the proxy (issue: hardening).

Each test attacks on loopback with a bounded number of requests and then checks that the
proxy is alive and still serves an ordinary request promptly.
"""

import os
import subprocess
import time
import unittest

import harness


# Routes whose regexes std::regex could not survive on long input.
REGEX_ROUTES = """
              max_request_headers: 1MiB
              route_config:
                virtual_hosts:
                  - name: api
                    domains: ["*"]
                    routes:
                      - name: users
                        match: { regex: "/v[0-9]+/users/[0-9]+" }
                      - name: alternation
                        match: { regex: "/x(a|b)*" }
                      - name: nested
                        match: { regex: "/(a+)+$" }
                      - name: agent
                        match: { prefix: /ua, headers: [ { name: user-agent, regex: "(a|aa)+$" } ] }
              http_filters:
                - name: router
"""


class RegexRouteTest(harness.ProxyTestCase):
    """std::regex recursed once per character: one request with a 40,000-digit path under
    the README's own route regex killed the process (SIGSEGV), and "/(a+)+$" cost seconds
    of CPU per request. On RE2 each match is one linear pass."""

    proxy_kwargs = {"concurrency": 1, "config": lambda port: harness.http_listener_config(port, REGEX_ROUTES)}

    def get(self, path, headers=()):
        extra = "".join("%s: %s\r\n" % h for h in headers)
        request = "GET http://%s%s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (
            self.origin.authority, path, self.origin.authority, extra)
        resp, reader = harness.send_and_read(self.proxy, request.encode(), timeout=20)
        reader.sock.close()
        return resp

    def assert_routed(self, resp):
        """Reached the origin (which knows no such endpoint), not the local 404."""
        self.assertEqual((resp.status, resp.body), (404, b"no such endpoint\n"))

    def assert_unrouted(self, resp):
        self.assertEqual((resp.status, resp.body), (404, b"no route matches this request\n"))

    def assert_still_serving(self):
        self.assertTrue(self.proxy.alive(), self.proxy.log()[-3000:])
        self.assert_routed(self.get("/v1/users/7"))

    def test_long_path_under_readme_route(self):
        digits = "7" * 40000
        self.assert_routed(self.get("/v" + digits + "/users/" + digits))
        self.assert_unrouted(self.get("/v" + digits + "/users/x"))
        self.assert_still_serving()

    def test_alternation_star_on_40kb_path(self):
        self.assert_routed(self.get("/x" + "ab" * 20000))
        self.assert_still_serving()

    def test_nested_quantifiers_are_not_exponential(self):
        start = time.monotonic()
        for _ in range(20):
            self.assert_unrouted(self.get("/" + "a" * 26 + "!"))
        elapsed = time.monotonic() - start
        # 1.5 s per request under std::regex; bounded here only to catch a backtracking engine.
        self.assertLess(elapsed, 10, "20 requests took %.1f s" % elapsed)
        self.assert_still_serving()

    def test_header_regex_on_long_value(self):
        self.assert_unrouted(self.get("/ua", headers=[("User-Agent", "a" * 50000 + "b")]))
        self.assert_routed(self.get("/ua", headers=[("User-Agent", "a" * 50000)]))
        self.assert_still_serving()


class FileLimitTest(unittest.TestCase):
    """Each proxied connection takes two fds: a soft limit of 1,024 ran out at a few hundred
    clients. The proxy raises its soft RLIMIT_NOFILE to the hard limit at start."""

    def test_soft_limit_raised_to_hard(self):
        directory = harness.tmpdir("fdlimit")
        port = harness.free_port()
        path = os.path.join(directory, "c.yaml")
        with open(path, "w") as f:
            f.write(harness.proxy_config(port))
        proc = subprocess.Popen(["prlimit", "--nofile=1024:8192", harness.interpose_bin(), "-c", path,
                                 "--concurrency", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=harness.clean_env())
        try:
            deadline = time.monotonic() + 10
            limits = ""
            while time.monotonic() < deadline and "8192" not in limits.split("Max open files")[-1][:60]:
                time.sleep(0.1)
                with open("/proc/%d/limits" % proc.pid) as f:
                    limits = f.read()
            line = [l for l in limits.splitlines() if l.startswith("Max open files")][0]
            self.assertEqual(line.split()[3:5], ["8192", "8192"], line)
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=10)
        self.assertIn(b"open file limit raised from 1024 to 8192", out)


if __name__ == "__main__":
    harness.main()
