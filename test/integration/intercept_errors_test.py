#!/usr/bin/env python3
"""TLS interception failures.

Upstream: an origin whose certificate does not verify (self-signed, another CA,
expired, wrong host name, wrong IP) gets 502 with the reason in the body and in
the access log, and no request reaches it; `verify: false` skips the checks.

Downstream: plain HTTP after CONNECT, garbage ClientHellos, clients that close
or stall mid-handshake each fail alone while the proxy keeps serving."""

import os
import re
import socket
import ssl
import threading
import time

import harness
from harness import OriginProcess, open_tunnel, wait_closed


def client_hello(server_hostname):
    """The first flight of a real TLS client (a ClientHello record), made with
    memory BIOs."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


class UpstreamTlsErrorTest(harness.InterceptTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.extra = []
        try:
            d = cls.pki_dir
            ca_key = os.path.join(d, "testca.key")
            names, ips = harness.ORIGIN_DNS_NAMES, ("127.0.0.1",)
            ss = harness.make_self_signed(d, "selfsigned", "localhost", names, ips)
            other_ca, other_ca_key = harness.make_ca(d, "otherca", "Some Other CA")
            other = harness.make_leaf(d, "other", other_ca, other_ca_key, "localhost", names, ips)
            expired = harness.make_leaf(d, "expired", cls.origin_ca, ca_key, "localhost", names,
                                        ips, expired=True)
            cls.selfsigned_origin = cls._origin(*ss)
            cls.otherca_origin = cls._origin(*other)
            cls.expired_origin = cls._origin(*expired)
            # Valid cert (for localhost/127.0.0.1), but listening on 127.0.0.2.
            cls.origin_127_0_0_2 = cls._origin(cls.origin_cert, cls.origin_key, bind="127.0.0.2")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _origin(cls, cert, key, bind="127.0.0.1"):
        o = OriginProcess(tls_cert=cert, tls_key=key, bind=bind)
        cls.extra.append(o)
        return o

    @classmethod
    def tearDownClass(cls):
        try:
            for o in cls.extra:
                o.stop()
        finally:
            super().tearDownClass()

    def get_502(self, host, origin, tag):
        """GET through the proxy (client side trusts our CA); expects the CONNECT to
        succeed and the request to get 502. Returns (body text, access log row)."""
        url = self.https_url("/echo?tag=%s" % tag, host=host, origin=origin)
        before = origin.stats()
        r = self.curl("--cacert", self.proxy_ca, "-w", "\n%{http_code} %{http_connect}", url)
        self.assertEqual(r.returncode, 0, "curl: %r\n%s" % (r.stderr, self.proxy.log()[-2000:]))
        body, _, codes = r.stdout.decode("latin-1").rpartition("\n")
        self.assertEqual(codes, "502 200", "GET %s: expected 502 after CONNECT 200, got %s: %r"
                         % (url, codes, body))
        # The origin notices the aborted handshake a moment after the proxy answered.
        deadline = time.monotonic() + 3
        after = origin.stats()
        while (after["tls_handshakes_failed"] == before["tls_handshakes_failed"]
               and time.monotonic() < deadline):
            time.sleep(0.05)
            after = origin.stats()
        self.assertEqual(after["heads_received"], before["heads_received"],
                         "a request reached an origin whose certificate failed verification")
        self.assertGreater(after["tls_handshakes_failed"], before["tls_handshakes_failed"],
                           "the proxy did not attempt (and abort) a TLS handshake upstream")
        rows = [row for row in harness.read_json_lines(self.access_log, at_least=1)
                if "tag=%s" % tag in (row.get("path") or "")]
        deadline = time.monotonic() + 3
        while not rows and time.monotonic() < deadline:
            time.sleep(0.05)
            rows = [row for row in harness.read_json_lines(self.access_log)
                    if "tag=%s" % tag in (row.get("path") or "")]
        self.assertEqual(len(rows), 1, "access log rows for tag %s: %r" % (tag, rows))
        row = rows[0]
        self.assertEqual(row["response_code"], 502, row)
        self.assertIn("upstream TLS error", row.get("error") or "", row)
        return body, row

    def assertReason(self, body, row, pattern, authority):
        self.assertRegex(body, r"^upstream TLS error: certificate verify failed: ")
        self.assertRegex(body, pattern)
        self.assertIn("(%s)" % authority, body)
        self.assertRegex(row["error"], pattern)

    def test_self_signed_origin(self):
        o = self.selfsigned_origin
        body, row = self.get_502("localhost", o, "selfsigned")
        self.assertReason(body, row, r"self[- ]signed certificate", "localhost:%d" % o.port)

    def test_origin_from_unknown_ca(self):
        o = self.otherca_origin
        body, row = self.get_502("localhost", o, "otherca")
        self.assertReason(body, row, r"unable to get local issuer certificate",
                          "localhost:%d" % o.port)

    def test_expired_origin_certificate(self):
        o = self.expired_origin
        body, row = self.get_502("localhost", o, "expired")
        self.assertReason(body, row, r"certificate has expired", "localhost:%d" % o.port)

    def test_hostname_mismatch(self):
        # wrong.test resolves (privately) to 127.0.0.1; the origin's cert doesn't name it.
        o = self.tls_origin
        body, row = self.get_502("wrong.test", o, "wrongname")
        self.assertReason(body, row, r"(?i)host ?name mismatch", "wrong.test:%d" % o.port)

    def test_ip_mismatch(self):
        o = self.origin_127_0_0_2
        body, row = self.get_502("127.0.0.2", o, "wrongip")
        self.assertReason(body, row, r"IP address mismatch", "127.0.0.2:%d" % o.port)

    def test_valid_origin_still_works(self):
        r = self.curl("--cacert", self.proxy_ca, self.https_url("/echo?fine=1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b'"target": "/echo?fine=1"', r.stdout)

    def test_system_trust_store_rejects_test_origin(self):
        # Without ca_file the router trusts the system store, which doesn't know the test CA.
        proxy = self.start_proxy(upstream_ca=None, access_log=None)
        try:
            url = self.https_url("/echo?sys=1")
            r = harness.curl(proxy, "--cacert", self.proxy_ca, "-w", "\n%{http_code}", url)
            self.assertEqual(r.returncode, 0, r.stderr)
            body, _, code = r.stdout.decode("latin-1").rpartition("\n")
            self.assertEqual(code, "502", body)
            self.assertRegex(body, r"^upstream TLS error: certificate verify failed: "
                                   r"(unable to get local issuer certificate|self[- ]signed)")
        finally:
            harness.stop_and_check(proxy)

    def test_verify_false_skips_checks_and_warns(self):
        proxy = self.start_proxy(upstream_ca=None, verify=False, access_log=None)
        try:
            self.assertRegex(proxy.log(), r"(?i)warn.*verify")
            for origin, host in ((self.selfsigned_origin, "localhost"),
                                 (self.expired_origin, "localhost"),
                                 (self.tls_origin, "wrong.test")):
                url = self.https_url("/echo?noverify=1", host=host, origin=origin)
                r = harness.curl(proxy, "--cacert", self.proxy_ca, "-w", "\n%{http_code}", url)
                self.assertEqual(r.returncode, 0, r.stderr)
                body, _, code = r.stdout.decode("latin-1").rpartition("\n")
                self.assertEqual(code, "200", "verify: false, %s: %s" % (url, body))
                self.assertIn('"target": "/echo?noverify=1"', body)
        finally:
            harness.stop_and_check(proxy)


    def test_origin_closing_mid_handshake_is_not_called_a_certificate_error(self):
        # The verify result means something only when verification ran and failed: an origin
        # that hangs up during the handshake must not be reported as a certificate problem
        # (with verify: false it used to read "certificate verify failed: Invalid
        # certificate verification context").
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]

        def hang_up():
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                conn.recv(4096)  # the ClientHello
                conn.close()

        threading.Thread(target=hang_up, daemon=True).start()
        for verify in (True, False):
            proxy = self.start_proxy(verify=verify, access_log=None)
            try:
                url = "https://localhost:%d/echo" % port
                r = harness.curl(proxy, "--cacert", self.proxy_ca, "-w", "\n%{http_code}", url)
                body, _, code = r.stdout.decode("latin-1").rpartition("\n")
                self.assertEqual(code, "502", body)
                self.assertRegex(body, r"^upstream TLS error: ")
                self.assertNotIn("certificate", body)
            finally:
                harness.stop_and_check(proxy)
        listener.close()


class DownstreamBadInputTest(harness.InterceptTestCase):
    intercept_kwargs = {"handshake_timeout": "2s"}

    def tunnel(self, host="localhost"):
        s, status, reader = open_tunnel(self.proxy, host, self.tls_origin.port)
        self.assertEqual(status, 200)
        return s, reader

    def assertClosedWithoutHttp(self, s, reader, timeout=5.0):
        try:
            closed, extra = wait_closed(reader, timeout)
        finally:
            s.close()
        self.assertTrue(closed, "the proxy kept a broken connection open")
        self.assertNotIn(b"HTTP/1.1 200", extra)
        return extra

    def test_plain_http_after_connect(self):
        before = self.tls_origin.stats()["heads_received"]
        s, reader = self.tunnel()
        s.sendall(b"GET /echo?plain=1 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        extra = self.assertClosedWithoutHttp(s, reader)
        # Whatever came back is a TLS alert record (or nothing), never HTTP.
        self.assertTrue(extra == b"" or extra[:1] == b"\x15", extra[:50])
        self.assertEqual(self.tls_origin.stats()["heads_received"], before)
        self.assertProxyServing()

    def test_garbage_client_hello(self):
        for junk in (b"\x16\x03\x01\x00\x30" + os.urandom(48),   # handshake record, bad body
                     b"\x16\x03\x01\xff\xff" + b"\x01" * 200,     # truncated, oversized length
                     os.urandom(2048),
                     b"\x00" * 64):
            s, reader = self.tunnel()
            try:
                s.sendall(junk)
            except OSError:
                pass
            if junk.startswith(b"\x16\x03\x01\xff\xff"):
                s.shutdown(socket.SHUT_WR)      # the record can never complete
            self.assertClosedWithoutHttp(s, reader, timeout=5)
        self.assertProxyServing()

    def test_client_closes_mid_client_hello(self):
        hello = client_hello("h11.test")
        s, reader = self.tunnel("h11.test")
        s.sendall(hello[:len(hello) // 2])
        s.close()
        self.assertProxyServing()

    def test_client_resets_after_server_hello(self):
        hello = client_hello("h12.test")
        s, reader = self.tunnel("h12.test")
        s.sendall(hello)
        # Wait for the server's first flight, then reset the connection.
        s.settimeout(5)
        first = s.recv(16384)
        self.assertEqual(first[:1], b"\x16", first[:20])
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        self.assertProxyServing()

    def test_stalled_handshake_times_out_and_others_are_served(self):
        hello = client_hello("h13.test")
        s, reader = self.tunnel("h13.test")
        try:
            s.sendall(hello[:10])
            t0 = time.monotonic()
            self.assertProxyServing()          # served while the stalled one waits
            closed, _ = wait_closed(reader, timeout=8)
            self.assertTrue(closed, "stalled handshake not closed (handshake_timeout 2s)")
            self.assertLess(time.monotonic() - t0, 6)
        finally:
            s.close()
        self.assertProxyServing()

    def test_timeout_after_our_certificate_is_not_a_rejection(self):
        # A client that got our certificate and then just stalls until the handshake
        # timeout (2s here) did not reject it: the host stays intercepted.
        host = "h14.test"
        s, reader = self.tunnel(host)
        try:
            s.sendall(client_hello(host))
            s.settimeout(5)
            self.assertEqual(s.recv(16384)[:1], b"\x16")
            closed, _ = wait_closed(reader, timeout=8)
            self.assertTrue(closed, "stalled handshake not closed")
        finally:
            s.close()
        t = harness.tls_via_proxy(self.proxy, host, self.tls_origin.port, cafile=self.proxy_ca)
        try:
            self.assertEqual(harness.peer_cert_info(t)["issuer"], self.proxy_ca_subject)
        finally:
            t.close()
        self.assertNotIn("refused our certificate for " + host, self.proxy.log())

    def test_many_broken_connections_at_once(self):
        socks = []
        try:
            for i in range(100):
                s, reader = self.tunnel()
                socks.append(s)
                s.sendall(os.urandom(100) if i % 2 else b"GET / HTTP/1.1\r\n\r\n")
            self.assertProxyServing()
        finally:
            for s in socks:
                s.close()
        self.assertProxyServing()


if __name__ == "__main__":
    harness.main()
