#!/usr/bin/env python3
"""The per-stream policies both codecs share (one core, source/filters/network/
http_connection_manager/active_stream.cc), checked through HTTP/1.1 and HTTP/2 (h2c with
prior knowledge) alike: Via on requests and responses, hop-by-hop fields (TE included)
never forwarded, cookies joined, Expect: 100-continue answered and 417 for the rest."""

import json
import subprocess

import harness

VIA = "interpose-test"


class StreamPoliciesTest(harness.ProxyTestCase):
    proxy_kwargs = {"config": lambda port: harness.http_listener_config(port, "{ via: %s }" % VIA)}

    def curl(self, protocol, path, *args):
        """(status, response headers as lower-case pairs, body) through the proxy."""
        if protocol == "h2":
            route = ["--http2-prior-knowledge", "--noproxy", "*", "--connect-to",
                     "127.0.0.1:%d:127.0.0.1:%d" % (self.origin.port, self.proxy.port)]
        else:
            route = ["--http1.1" if protocol == "1.1" else "--http1.0", "-x", "http://" + self.proxy.address]
        r = subprocess.run(["curl", "-sS", "--max-time", "20", "-D", "-"] + route + list(args)
                           + [self.origin.url(path)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, env=harness.clean_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        while head.split(b" ", 2)[1].startswith(b"1"):  # 100 Continue first
            head, _, body = body.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
        return status, [(k.lower(), v) for k, v in headers], body

    def echo(self, protocol, *args):
        status, headers, body = self.curl(protocol, "/echo", *args)
        self.assertEqual(status, 200, body)
        sent = [(k.lower(), v) for k, v in json.loads(body)["headers"]]
        return sent, headers

    def test_via_on_requests_and_responses(self):
        for protocol, request_via, response_via in (("1.1", "1.1", "1.1"), ("1.0", "1.0", "1.1"), ("h2", "2", "2")):
            with self.subTest(protocol=protocol):
                sent, received = self.echo(protocol)
                self.assertIn(("via", "%s %s" % (request_via, VIA)), sent)
                self.assertIn(("via", "%s %s" % (response_via, VIA)), received)

    def test_hop_by_hop_fields_are_not_forwarded(self):
        for protocol in ("1.1", "h2"):
            with self.subTest(protocol=protocol):
                extra = ["-H", "TE: trailers", "-H", "X-Keep: 1"]
                if protocol == "1.1":
                    extra += ["-H", "Connection: X-Drop", "-H", "X-Drop: 1", "-H", "Proxy-Authorization: Basic eDp5"]
                sent, _ = self.echo(protocol, *extra)
                names = [k for k, _ in sent]
                self.assertIn("x-keep", names)
                for name in ("te", "connection", "x-drop", "proxy-authorization", "keep-alive"):
                    self.assertNotIn(name, names)

    def test_connection_cannot_name_pseudo_headers(self):
        # "Connection: :path" once emptied the request's path (the origin got "GET  HTTP/1.1").
        status, _, body = self.curl("1.1", "/echo?kept=1", "-H", "Connection: close, :path, :method, :authority")
        self.assertEqual(status, 200, body)
        echo = json.loads(body)
        self.assertEqual((echo["method"], echo["target"]), ("GET", "/echo?kept=1"))

    def test_cookies_are_joined(self):
        sent, _ = self.echo("h2", "-H", "Cookie: a=1", "-H", "Cookie: b=2")
        self.assertEqual([v for k, v in sent if k == "cookie"], ["a=1; b=2"])

    def test_expect_100_continue_and_others(self):
        for protocol in ("1.1", "h2"):
            with self.subTest(protocol=protocol):
                sent, _ = self.echo(protocol, "-H", "Expect: 100-continue", "--data-binary", "x" * 2000)
                self.assertNotIn("expect", [k for k, _ in sent])
                status, _, body = self.curl(protocol, "/echo", "-H", "Expect: teapot", "--data-binary", "x")
                self.assertEqual(status, 417, body)


if __name__ == "__main__":
    harness.main()
