#!/usr/bin/env python3
"""The header_rewrite filter in the real binary: request edits the origin sees (set, add,
remove, remove_prefix, rename, a format variable), response edits curl and httpx see, map
remote (a request to one origin's port rewritten to another origin's port and path), and a
route's per_filter_config replacing the filter's own config."""

import json
import os
import subprocess
import sys
import unittest

import harness


def config(port, other_origin_port):
    """Proxy config: header_rewrite before the router, and a route table with a map-remote
    route (/map/...) and an override route (header x-use-route: override)."""
    return """\
drain_timeout: 2s
listeners:
  - name: proxy
    address: 127.0.0.1:%(port)d
    filter_chains:
      - filters:
          - name: http_connection_manager
            config:
              http_filters:
                - name: header_rewrite
                  config:
                    request:
                      remove: [x-debug]
                      remove_prefix: [x-internal-]
                      rename: { x-old: x-new }
                      set:
                        x-proxied-by: interpose
                        x-client: "%%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%%"
                        x-route-name: "%%ROUTE_NAME%%"
                      add: { x-via: "1.1 interpose" }
                    response:
                      remove: [set-cookie]
                      rename: { content-type: x-origin-content-type }
                      set: { x-intercepted: "true", x-status: "status %%RESPONSE_CODE%%" }
                      add: { x-added: [one, two] }
                - name: router
                  config: { connect_timeout: 2s, response_timeout: 5s }
              route_config:
                virtual_hosts:
                  - name: local
                    domains: ["*"]
                    routes:
                      - name: map
                        match: { prefix: /map/ }
                        per_filter_config:
                          header_rewrite:
                            request:
                              set: { x-mapped-from: "%%REQ(:AUTHORITY)%%%%REQ(:PATH)%%" }
                              target:
                                port: %(other)d
                                path_prefix: { from: /map/, to: / }
                                query: { set: { mapped: "1" }, remove: [token] }
                      - name: override
                        match: { prefix: /, headers: [ { name: x-use-route, exact: override } ] }
                        per_filter_config:
                          header_rewrite:
                            request: { set: { x-override: "%%ROUTE_NAME%%" } }
                            response: { set: { x-override: "yes" } }
                      - name: default
                        match: { prefix: / }
""" % {"port": port, "other": other_origin_port}


def header_values(echo, name):
    return [v for k, v in echo["headers"] if k.lower() == name]


def response_headers(raw):
    """curl -D - output -> [(lower name, value)] of the last response."""
    lines = raw.decode("latin-1").split("\r\n")
    return [(k.strip().lower(), v.strip()) for k, _, v in (l.partition(":") for l in lines[1:] if ":" in l)]


class HeaderRewriteTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.origin = harness.OriginProcess()
        cls.other = harness.OriginProcess()
        try:
            cls.proxy = harness.Proxy(config=lambda port: config(port, cls.other.port))
        except Exception:
            cls.origin.stop()
            cls.other.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            harness.stop_and_check(cls.proxy)
        finally:
            cls.origin.stop()
            cls.other.stop()

    def echo(self, url, *headers):
        """GET url through the proxy with curl; returns (origin's echo, response headers)."""
        args = ["-D", "/dev/stderr"]
        for h in headers:
            args += ["-H", h]
        r = harness.curl(self.proxy, *args, url)
        self.assertEqual(r.returncode, 0, r.stderr)
        head = r.stderr[r.stderr.find(b"HTTP/1.1"):]
        return json.loads(r.stdout), response_headers(head.split(b"\r\n\r\n")[0])

    def test_request_edits_reach_the_origin(self):
        echo, _ = self.echo(self.origin.url("/echo?a=1"), "X-Debug: 1", "X-Internal-Token: secret",
                            "X-Internal-Id: 7", "X-Old: kept value", "X-Proxied-By: client", "X-Keep: k")
        headers = [(k.lower(), v) for k, v in echo["headers"]]
        names = [k for k, _ in headers]
        self.assertNotIn("x-debug", names)
        self.assertFalse([n for n in names if n.startswith("x-internal-")], headers)
        self.assertNotIn("x-old", names)
        self.assertEqual(header_values(echo, "x-new"), ["kept value"])
        # rename keeps the field where it was: before x-keep, as the client sent it.
        self.assertLess(names.index("x-new"), names.index("x-keep"))
        self.assertEqual(header_values(echo, "x-proxied-by"), ["interpose"])  # set replaces
        self.assertEqual(header_values(echo, "x-via"), ["1.1 interpose"])
        self.assertEqual(header_values(echo, "x-client"), ["127.0.0.1"])  # a format variable
        self.assertEqual(header_values(echo, "x-route-name"), ["local/default"])
        self.assertEqual(echo["target"], "/echo?a=1")
        self.assertEqual(header_values(echo, "host"), [self.origin.authority])

    def test_response_edits_reach_the_client(self):
        _, headers = self.echo(self.origin.url("/echo?resp_dup=1"))
        names = [k for k, _ in headers]
        self.assertNotIn("set-cookie", names)
        self.assertNotIn("content-type", names)
        self.assertIn(("x-origin-content-type", "application/json"), headers)
        self.assertIn(("x-intercepted", "true"), headers)
        self.assertIn(("x-status", "status 200"), headers)
        self.assertEqual([v for k, v in headers if k == "x-added"], ["one", "two"])
        self.assertIn("content-length", names)

    def test_response_edits_on_a_local_reply(self):
        # A 502 the router makes itself goes through the encoder filters too.
        r = harness.curl(self.proxy, "-D", "-", "-o", "/dev/null",
                         "http://127.0.0.1:%d/nothing" % harness.closed_port())
        head = r.stdout.decode("latin-1").lower()
        self.assertIn(" 502 ", head.split("\r\n")[0])
        self.assertIn("x-status: status 502", head)

    def test_map_remote_rewrites_port_path_and_query(self):
        before = len(self.origin.stats()["targets"])
        echo, headers = self.echo(self.origin.url("/map/echo?token=t&keep=1"))
        # The other origin answered, at the rewritten path and query.
        self.assertEqual(echo["target"], "/echo?keep=1&mapped=1")
        self.assertEqual(header_values(echo, "host"), ["127.0.0.1:%d" % self.other.port])
        self.assertIn("/echo?keep=1&mapped=1", self.other.stats()["targets"])
        self.assertEqual(len(self.origin.stats()["targets"]), before)
        # The route's config replaced the filter's: only its own set applied ...
        self.assertEqual(header_values(echo, "x-mapped-from"),
                         ["127.0.0.1:%d/map/echo?token=t&keep=1" % self.origin.port])
        self.assertEqual(header_values(echo, "x-proxied-by"), [])
        # ... and the route has no response rules.
        self.assertNotIn("x-intercepted", [k for k, _ in headers])

    def test_per_route_config_replaces_the_filters(self):
        echo, headers = self.echo(self.origin.url("/echo"), "X-Use-Route: override", "X-Debug: 1")
        self.assertEqual(header_values(echo, "x-override"), ["local/override"])
        # Not merged with the filter's config: x-debug stays, x-proxied-by is not set.
        self.assertEqual(header_values(echo, "x-debug"), ["1"])
        self.assertEqual(header_values(echo, "x-proxied-by"), [])
        self.assertIn(("x-override", "yes"), headers)
        self.assertNotIn("x-intercepted", [k for k, _ in headers])

    def test_httpx_client(self):
        # httpx may be installed only for /usr/bin/python3; <0.26 uses proxies=, later proxy=.
        script = r'''
import json, sys, httpx
proxy, url, mapped = sys.argv[1], sys.argv[2], sys.argv[3]
major, minor = (int(x) for x in httpx.__version__.split(".")[:2])
kw = {"proxy": proxy} if (major, minor) >= (0, 26) else {"proxies": proxy}
with httpx.Client(timeout=10, **kw) as c:
    g = c.get(url, headers={"x-old": "from httpx", "x-internal-a": "1"})
    m = c.get(mapped)
    print(json.dumps([g.status_code, g.json(), dict(g.headers), m.status_code, m.json()]))
'''
        for py in (sys.executable, "/usr/bin/python3"):
            probe = subprocess.run([py, "-c", "import httpx"], capture_output=True)
            if probe.returncode == 0:
                break
        else:
            harness.skip_or_fail(harness.HTTPX_MISSING)
        r = subprocess.run([py, "-c", script, self.proxy.url, self.origin.url("/echo"),
                            self.origin.url("/map/echo")],
                           capture_output=True, timeout=60, env=harness.clean_env())
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        gs, g, gh, ms, m = json.loads(r.stdout)
        self.assertEqual(gs, 200)
        self.assertEqual(header_values(g, "x-new"), ["from httpx"])
        self.assertEqual(header_values(g, "x-internal-a"), [])
        self.assertEqual(header_values(g, "x-client"), ["127.0.0.1"])
        self.assertEqual(gh.get("x-intercepted"), "true")
        self.assertEqual(ms, 200)
        self.assertEqual(m["target"], "/echo?mapped=1")
        self.assertEqual(header_values(m, "host"), ["127.0.0.1:%d" % self.other.port])


class HeaderRewriteValidateTest(unittest.TestCase):

    def validate(self, text):
        path = os.path.join(harness.tmpdir("header_rewrite"), "bad.yaml")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([harness.interpose_bin(), "-c", path, "--mode", "validate"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                           env=harness.clean_env())
        return path, r.returncode, (r.stdout + r.stderr).decode()

    def test_errors_point_at_the_value(self):
        good = config(18080, 18081)
        self.assertEqual(self.validate(good)[1:], (0, "OK\n"))
        lines = good.splitlines()
        for i, line in enumerate(lines):
            if "x-via:" in line:
                lines[i] = line.replace('"1.1 interpose"', '"1.1 %BOGUS%"')
                bad_line = i + 1
        path, rc, out = self.validate("\n".join(lines) + "\n")
        self.assertEqual(rc, 1, out)
        self.assertIn("%s:%d:" % (path, bad_line), out)
        self.assertIn("http_filters[0].config.request.add.x-via: unknown command %BOGUS%", out)
        # A literal CR/LF in a value would split the header: refused at load time.
        path, rc, out = self.validate(good.replace('x-proxied-by: interpose', 'x-proxied-by: "a\\r\\nb: c"'))
        self.assertEqual(rc, 1, out)
        self.assertIn("request.set.x-proxied-by: contains CR, LF or NUL", out)


if __name__ == "__main__":
    harness.main()
