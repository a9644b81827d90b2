#!/usr/bin/env python3
"""Hosts that are never intercepted, and hosts whose clients rejected our
certificate (pinning): their tunnels pass through untouched, so the client sees
the origin's own certificate.

Chains: 'passthrough' (server_names pinned.localhost, *.pinned.test) and
'learned' (interception_rejected: true) come before 'intercept'."""

import json
import os
import ssl
import subprocess
import time

import harness
from harness import cert_info, pem_blocks, tls_via_proxy, https_request


class PassthroughTest(harness.InterceptTestCase):
    log_level = "debug"           # failure messages then show why a handshake ended

    def curl_certs(self, url, cafile, *extra):
        marker = "\n--interpose-test--\n"
        r = self.curl("--cacert", cafile, *extra, "-w", marker + "%{http_code}\n%{certs}", url)
        body, _, tail = r.stdout.decode("latin-1").partition(marker)
        code, _, certs = tail.partition("\n")
        return r, body, code, pem_blocks(certs)

    def handshake_issuer(self, host, **kw):
        s = tls_via_proxy(self.proxy, host, self.tls_origin.port, **kw)
        try:
            return harness.peer_cert_info(s)
        finally:
            s.close()

    # ------------------------------------------------------------ configured passthrough

    def test_pinned_host_sees_origin_certificate(self):
        before = len(harness.read_json_lines(self.access_log, timeout=0))
        url = self.https_url("/echo?pinned=1", host="pinned.localhost")
        r, body, code, certs = self.curl_certs(url, self.origin_ca)
        self.assertEqual(r.returncode, 0, "curl: %r\n%s" % (r.stderr, self.proxy.log()[-2000:]))
        self.assertEqual(code, "200")
        self.assertEqual(json.loads(body)["target"], "/echo?pinned=1")
        leaf = cert_info(certs[0])
        self.assertEqual(leaf["issuer"], self.origin_ca_subject,
                         "pinned.localhost must see the origin's certificate, got %r" % leaf)
        with open(self.origin_cert) as f:
            self.assertEqual(leaf["sha256"], cert_info(f.read())["sha256"])
        # Not decrypted, so nothing for the HTTP access log.
        time.sleep(0.2)
        rows = harness.read_json_lines(self.access_log, timeout=0)
        self.assertFalse([row for row in rows[before:] if "pinned=1" in (row.get("path") or "")])

    def test_pinned_host_rejects_our_ca(self):
        # A client trusting only our CA can't talk to a passed-through host.
        r = self.curl("--cacert", self.proxy_ca, "-o", "/dev/null",
                      self.https_url("/status/200", host="pinned.localhost"))
        self.assertEqual(r.returncode, 60, r.stderr)

    def test_wildcard_passthrough(self):
        info = self.handshake_issuer("app.pinned.test", cafile=self.origin_ca)
        self.assertEqual(info["issuer"], self.origin_ca_subject)
        # *.pinned.test doesn't cover pinned.test itself: intercepted.
        info = self.handshake_issuer("pinned.test", cafile=self.proxy_ca)
        self.assertEqual(info["issuer"], self.proxy_ca_subject)
        self.assertIn("DNS:pinned.test", info["san"])

    def test_openssl_s_client_passthrough(self):
        r = harness.s_client(self.proxy, "pinned.localhost", self.tls_origin.port,
                             servername="pinned.localhost", cafile=self.origin_ca,
                             extra=["-verify_return_error", "-verify_hostname", "pinned.localhost"])
        out = r.stdout.decode("latin-1")
        self.assertEqual(r.returncode, 0, out[-2000:] + r.stderr.decode("latin-1"))
        self.assertIn("Verify return code: 0 (ok)", out)
        self.assertEqual(cert_info(pem_blocks(out)[0])["issuer"], self.origin_ca_subject)

    # ------------------------------------------------------------ learned (pinning fallback)

    def assertIntercepted(self, host):
        info = self.handshake_issuer(host)
        self.assertEqual(info["issuer"], self.proxy_ca_subject,
                         "%s should be intercepted, got %r" % (host, info))

    def assertLearnsPassthrough(self, host, reject, what):
        """reject() makes one connection that aborts on our certificate. Then, within a
        few seconds, a new connection to host must pass through: a client trusting
        only the origin's CA completes the handshake, sees the origin's certificate,
        and gets an answer from the origin."""
        reject()
        deadline = time.monotonic() + 3
        info = None
        while True:
            s = tls_via_proxy(self.proxy, host, self.tls_origin.port)   # no verification
            try:
                info = harness.peer_cert_info(s)
            finally:
                s.close()
            if info["issuer"] == self.origin_ca_subject or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(
            info["issuer"], self.origin_ca_subject,
            "after %s rejected our certificate for %s, the next connection was still "
            "intercepted (leaf issuer %r); proxy log:\n%s"
            % (what, host, info["issuer"], self.proxy.log()[-1500:]))
        learned = "refused our certificate for %s:%d (TLS alert: " % (host, self.tls_origin.port)
        self.assertIn(learned, self.proxy.log())
        s = tls_via_proxy(self.proxy, host, self.tls_origin.port, cafile=self.origin_ca)
        try:
            resp = https_request(s, "GET", "%s:%d" % (host, self.tls_origin.port), "/echo?learned=1")
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(resp.json()["target"], "/echo?learned=1")
        finally:
            s.close()

    def python_rejects(self, host, max_version=None):
        def reject():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(self.origin_ca)       # not our CA: unknown_ca alert
            if max_version:
                ctx.maximum_version = max_version
            s, status, _ = harness.open_tunnel(self.proxy, host, self.tls_origin.port)
            self.assertEqual(status, 200)
            try:
                with self.assertRaises(ssl.SSLCertVerificationError):
                    ctx.wrap_socket(s, server_hostname=host).close()
            finally:
                s.close()
        return reject

    def test_python_client_rejecting_us_tls13(self):
        # OpenSSL clients (Python, curl, s_client) send their TLS 1.3 alert before
        # switching to handshake keys, i.e. as a plaintext record.
        self.assertLearnsPassthrough("pinme.test", self.python_rejects("pinme.test"),
                                     "a Python ssl client (TLS 1.3, trusting only the origin CA)")
        self.assertIntercepted("h21.test")          # others stay intercepted
        # The same host on another port stays intercepted too: what was learned is one
        # host and port (the handshake with us needs no origin, so a closed port will do).
        s = tls_via_proxy(self.proxy, "pinme.test", harness.closed_port())
        try:
            self.assertEqual(harness.peer_cert_info(s)["issuer"], self.proxy_ca_subject)
        finally:
            s.close()

    def test_python_client_rejecting_us_tls12(self):
        self.assertLearnsPassthrough(
            "pinme4.test", self.python_rejects("pinme4.test", ssl.TLSVersion.TLSv1_2),
            "a Python ssl client (TLS 1.2, trusting only the origin CA)")
        self.assertIntercepted("h22.test")

    def test_s_client_rejecting_us(self):
        host = "pinme2.test"

        def reject():
            r = harness.s_client(self.proxy, host, self.tls_origin.port, servername=host,
                                 cafile=self.origin_ca, extra=["-verify_return_error"])
            self.assertNotEqual(r.returncode, 0, "s_client accepted our cert with the origin's CA")
        self.assertLearnsPassthrough(host, reject, "openssl s_client -verify_return_error")
        # curl trusting only the origin's CA now works end to end.
        url = self.https_url("/echo?learned=2", host=host)
        r, body, code, certs = self.curl_certs(url, self.origin_ca)
        self.assertEqual(r.returncode, 0, "curl: %r\n%s" % (r.stderr, self.proxy.log()[-2000:]))
        self.assertEqual(code, "200")
        self.assertEqual(cert_info(certs[0])["issuer"], self.origin_ca_subject)

    def test_client_dropping_connection_after_certificate_teaches_nothing(self):
        # A client that just closes once it has our certificate, without an alert: a
        # cancelled preconnect (headless Chromium did this with a certificate it then found
        # valid) or a probe. That is no reason to stop intercepting the host.
        host = "pinme5.test"

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(incoming, outgoing, server_hostname=host)

        def reject():
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                pass
            s, status, reader = harness.open_tunnel(self.proxy, host, self.tls_origin.port)
            try:
                self.assertEqual(status, 200)
                s.sendall(outgoing.read())
                # Read the server's flight until it includes the (encrypted) certificate.
                deadline = time.monotonic() + 5
                got = b""
                while len(got) < 600 and time.monotonic() < deadline:
                    s.settimeout(max(0.1, deadline - time.monotonic()))
                    chunk = s.recv(16384)
                    if not chunk:
                        break
                    got += chunk
                self.assertGreater(len(got), 600, "no certificate from the proxy")
            finally:
                s.close()
        reject()
        time.sleep(0.3)
        self.assertIntercepted(host)
        self.assertNotIn("refused our certificate for " + host, self.proxy.log())

    def test_accepting_client_does_not_teach_passthrough(self):
        host = "pinme3.test"
        for _ in range(3):
            info = self.handshake_issuer(host, cafile=self.proxy_ca)   # completes, closes
            self.assertEqual(info["issuer"], self.proxy_ca_subject)
        r = self.curl("--cacert", self.proxy_ca, "-o", "/dev/null", "-w", "%{http_code}",
                      self.https_url("/status/200", host=host))
        self.assertEqual(r.stdout, b"200", r.stderr)
        self.assertNotIn("refused our certificate for " + host, self.proxy.log())
        self.assertIntercepted(host)


class NoLearningTest(harness.InterceptTestCase):
    """remember_rejections: 0s: a rejection is not remembered."""
    intercept_kwargs = {"remember_rejections": "0s"}

    def test_rejection_not_remembered(self):
        host = "pinme.test"
        for _ in range(2):
            with self.assertRaises(ssl.SSLCertVerificationError):
                s = tls_via_proxy(self.proxy, host, self.tls_origin.port, cafile=self.origin_ca)
                s.close()
            time.sleep(0.2)
        s = tls_via_proxy(self.proxy, host, self.tls_origin.port)
        try:
            self.assertEqual(harness.peer_cert_info(s)["issuer"], self.proxy_ca_subject)
        finally:
            s.close()


if __name__ == "__main__":
    harness.main()
