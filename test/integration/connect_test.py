#!/usr/bin/env python3
"""CONNECT tunnels: the proxy answers 200 and then splices bytes (tcp_proxy),
so TLS between curl and the origin is end to end and the origin's test
certificate verifies through the tunnel."""

import json
import time

import harness
from harness import OriginProcess, connect, SocketReader, read_response, wait_closed


class ConnectTest(harness.ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.pki_dir = harness.tmpdir("pki")
            cls.ca, cert, key = harness.make_test_pki(cls.pki_dir)
            cls.tls_origin = OriginProcess(tls_cert=cert, tls_key=key)
        except Exception:
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.tls_origin.stop()
        finally:
            super().tearDownClass()

    def https_echo(self, host):
        url = "https://%s:%d/echo?tls=%s" % (host, self.tls_origin.port, host)
        r = self.curl("--cacert", self.ca, "-w", "\n%{http_code} %{http_connect}", url)
        self.assertEqual(r.returncode, 0, "curl failed: %r\nproxy log:\n%s"
                         % (r.stderr, self.proxy.log()[-2000:]))
        body, _, codes = r.stdout.decode().rpartition("\n")
        self.assertEqual(codes, "200 200")
        echo = json.loads(body)
        self.assertEqual(echo["target"], "/echo?tls=%s" % host)
        return echo

    def test_https_via_connect_localhost(self):
        # curl sends "CONNECT localhost:PORT"; the proxy resolves localhost.
        self.https_echo("localhost")

    def test_https_via_connect_ip(self):
        self.https_echo("127.0.0.1")

    def test_tunnel_is_byte_transparent(self):
        # Through a CONNECT tunnel to the plain origin, HTTP bytes must arrive
        # untouched: hop-by-hop headers stay (no HTTP processing in a tunnel).
        a = self.origin.authority
        s = connect(self.proxy)
        try:
            s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (a, a)).encode())
            reader = SocketReader(s)
            deadline = time.monotonic() + 5
            head = reader.read_until(b"\r\n\r\n", deadline)
            self.assertRegex(head.split(b"\r\n")[0], rb"^HTTP/1\.1 200 Connection established")
            # Neither chunked nor content-length framing is allowed on a 2xx CONNECT.
            self.assertNotIn(b"transfer-encoding", head.lower())
            for i in range(3):   # keep-alive inside the tunnel too
                s.sendall(("GET /echo?in-tunnel=%d HTTP/1.1\r\nHost: %s\r\n"
                           "Connection: X-Tunnel\r\nX-Tunnel: kept\r\n\r\n" % (i, a)).encode())
                resp = read_response(reader)
                self.assertEqual(resp.status, 200, resp)
                echo = resp.json()
                self.assertEqual(echo["target"], "/echo?in-tunnel=%d" % i)
                self.assertIn(["X-Tunnel", "kept"], echo["headers"])
                self.assertIn(["Connection", "X-Tunnel"], echo["headers"])
        finally:
            s.close()

    def test_connect_refused_port(self):
        port = harness.closed_port()
        s = connect(self.proxy)
        try:
            s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (port, port))
            resp = read_response(SocketReader(s), timeout=8)
        finally:
            s.close()
        self.assertIn(resp.status, (502, 503), "CONNECT to a closed port: %r" % resp)
        self.assertProxyServing()

    def test_curl_connect_refused_reports_error(self):
        port = harness.closed_port()
        r = self.curl("-k", "-w", "%{http_connect}", "https://127.0.0.1:%d/" % port)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(r.stdout[-3:], (b"502", b"503"), r)

    def test_tunnel_closes_when_origin_closes(self):
        # The origin closes after "Connection: close": the proxy must close the
        # client side of the tunnel too (half-close propagation, no hang).
        a = self.origin.authority
        s = connect(self.proxy)
        try:
            s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (a, a)).encode())
            reader = SocketReader(s)
            reader.read_until(b"\r\n\r\n", time.monotonic() + 5)
            s.sendall(("GET /echo?close=1 HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                       % a).encode())
            resp = read_response(reader)
            self.assertEqual(resp.status, 200)
            closed, extra = wait_closed(reader, timeout=5)
            self.assertTrue(closed, "tunnel stayed open after the origin closed")
            self.assertEqual(extra, b"")
        finally:
            s.close()



class DelayedConnectTest(harness.ProxyTestCase):
    """A filter that holds a CONNECT (rate_limit in delay mode) delays the tunnel: the 200
    and the tunnel's bytes wait until the filter lets the request go."""

    @classmethod
    def setUpClass(cls):
        cls.origin = OriginProcess()
        config = lambda port: "\n".join([
            "drain_timeout: 2s",
            "listeners:",
            "  - name: proxy",
            "    address: 127.0.0.1:%d" % port,
            "    filter_chains:",
            "      - match: { tunneled: true }",
            "        filters: [ { name: tcp_proxy } ]",
            "      - filters:",
            "          - name: http_connection_manager",
            "            config:",
            "              http_filters:",
            "                - { name: rate_limit, config: { key: [], rate: 2/s, burst: 1, mode: delay, max_delay: 3s } }",
            "                - { name: router }",
        ]) + "\n"
        try:
            cls.proxy = harness.Proxy(config=config)
        except BaseException:
            cls.origin.stop()
            raise

    def tunnel_roundtrip(self):
        a = self.origin.authority
        s = connect(self.proxy)
        try:
            s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (a, a)).encode())
            # The tunnel's first request goes right behind the CONNECT, before the 200.
            s.sendall(("GET /status/200 HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % a).encode())
            reader = SocketReader(s)
            deadline = time.monotonic() + 10
            head = reader.read_until(b"\r\n\r\n", deadline)
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
            rest = reader.read_to_eof(deadline)
            self.assertIn(b"HTTP/1.1 200", rest)
        finally:
            s.close()

    def test_second_connect_waits_for_the_bucket(self):
        start = time.monotonic()
        self.tunnel_roundtrip()          # takes the only token
        self.tunnel_roundtrip()          # waits about 0.5 s for the next one
        elapsed = time.monotonic() - start
        self.assertGreater(elapsed, 0.3, "the second tunnel was not delayed")
        self.assertLess(elapsed, 5)

if __name__ == "__main__":
    harness.main()
