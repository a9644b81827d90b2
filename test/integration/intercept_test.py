#!/usr/bin/env python3
"""TLS interception: inside a CONNECT tunnel the proxy terminates TLS with a
certificate its CA mints for the server name, and forwards the requests to the
origin over TLS verified against the origin's CA (upstream_tls.ca_file).

Clients: curl (GET with a query, POST, HEAD, keep-alive), httpx, openssl
s_client, Python ssl (IP literals, 200 concurrent handshakes to 50 names)."""

import collections
import hashlib
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
import unittest

import harness
from harness import OriginProcess, cert_info, pem_blocks, tls_via_proxy, https_request

ODD_QUERY = "?a=1&b=%20x&c=%2F;d&e=~!$'()*+,&f=%7e%7E&g=&&h=a=b=c&i=%C3%A9"


class InterceptTest(harness.InterceptTestCase):

    def curl_https(self, url, *extra):
        """curl through the proxy trusting only the proxy's CA; returns
        (CompletedProcess, body bytes, http_code, [cert PEMs curl saw])."""
        marker = b"\n--interpose-test--\n"
        r = self.curl("--cacert", self.proxy_ca, "--path-as-is", "-g", *extra,
                      "-w", marker.decode() + "%{http_code} %{http_connect}\n%{certs}", url)
        body, _, tail = r.stdout.partition(marker)
        codes, _, certs = tail.partition(b"\n")
        return r, body, codes.decode(), pem_blocks(certs)

    def assertMintedFor(self, pem, san):
        info = cert_info(pem)
        self.assertEqual(info["issuer"], self.proxy_ca_subject, info)
        self.assertIn(san, info["san"], info)
        return info

    def test_get_with_query_string(self):
        r, body, codes, certs = self.curl_https(self.https_url("/echo" + ODD_QUERY))
        self.assertEqual(r.returncode, 0, "curl: %r\n%s" % (r.stderr, self.proxy.log()[-2000:]))
        self.assertEqual(codes, "200 200")
        echo = json.loads(body)
        self.assertEqual(echo["method"], "GET")
        self.assertEqual(echo["target"], "/echo" + ODD_QUERY)
        self.assertIn(["host", "localhost:%d" % self.tls_origin.port],
                      [[k.lower(), v] for k, v in echo["headers"]])
        # The leaf curl verified is ours, for the CONNECT/SNI name.
        self.assertGreaterEqual(len(certs), 1)
        leaf = self.assertMintedFor(certs[0], "DNS:localhost")
        self.assertNotEqual(leaf["issuer"], self.origin_ca_subject)

    def test_verbose_curl_shows_our_issuer(self):
        r = self.curl("--cacert", self.proxy_ca, "-v", "-o", "/dev/null",
                      self.https_url("/status/200"))
        self.assertEqual(r.returncode, 0, r.stderr)
        err = r.stderr.decode("latin-1")
        self.assertRegex(err, r"subject: CN ?= ?localhost")
        ca_cn = harness.common_name(self.proxy_ca_subject)
        self.assertRegex(err, r"issuer: .*CN ?= ?%s" % re.escape(ca_cn))
        self.assertIn("SSL certificate verify ok", err)

    def test_without_our_ca_curl_refuses(self):
        # Trusting only the origin's CA, curl must reject the intercepted chain.
        r = self.curl("--cacert", self.origin_ca, "-o", "/dev/null", self.https_url("/status/200",
                      host="other.test"))
        self.assertEqual(r.returncode, 60, "curl accepted a minted certificate it should not "
                         "trust: %r" % r.stderr)
        self.assertProxyServing()

    def test_post_body_arrives_intact(self):
        body = os.urandom(300 * 1024)
        path = os.path.join(harness.tmpdir("post"), "body.bin")
        with open(path, "wb") as f:
            f.write(body)
        r, out, codes, _ = self.curl_https(self.https_url("/echo?post=1"), "-X", "POST",
                                           "--data-binary", "@" + path,
                                           "-H", "Content-Type: application/octet-stream")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(codes, "200 200")
        echo = json.loads(out)
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(echo["body_length"], len(body))
        self.assertEqual(echo["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_chunked_upload_and_download(self):
        body = os.urandom(70000)
        r = self.curl("--cacert", self.proxy_ca, "-X", "PUT", "-H", "Transfer-Encoding: chunked",
                      "--data-binary", "@-", self.https_url("/echo?chunked=up"), input_bytes=body)
        self.assertEqual(r.returncode, 0, r.stderr)
        echo = json.loads(r.stdout)
        self.assertEqual(echo["body_length"], len(body))
        self.assertEqual(echo["body_sha256"], hashlib.sha256(body).hexdigest())
        n = 1_000_003
        r = self.curl("--cacert", self.proxy_ca, self.https_url("/bytes?n=%d&chunked=1" % n))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(hashlib.sha256(r.stdout).hexdigest(), harness.origin_mod.pattern_sha256(n))

    def test_head(self):
        r = self.curl("--cacert", self.proxy_ca, "-I", "-sS", self.https_url("/bytes?n=12345"))
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.decode("latin-1").split("\r\n")
        # curl -I through a proxy prints the CONNECT response first.
        statuses = [l for l in lines if l.startswith("HTTP/")]
        self.assertEqual(statuses[-1].split(" ")[1], "200", r.stdout)
        self.assertIn("content-length: 12345", r.stdout.decode("latin-1").lower())
        stats = self.tls_origin.stats()
        self.assertIn("/bytes?n=12345", stats["targets"])

    def test_keep_alive_one_client_and_one_upstream_connection(self):
        origin = OriginProcess(tls_cert=self.origin_cert, tls_key=self.origin_key)
        try:
            url1 = self.https_url("/echo?ka=1", origin=origin)
            url2 = self.https_url("/echo?ka=2", origin=origin)
            r = self.curl("--cacert", self.proxy_ca, "-w", "\n%{num_connects}\n",
                          url1, url2)
            self.assertEqual(r.returncode, 0, r.stderr)
            parts = r.stdout.decode().split("\n")
            # body1, connects1, body2, connects2, ''
            self.assertEqual(json.loads(parts[0])["target"], "/echo?ka=1")
            self.assertEqual(json.loads(parts[2])["target"], "/echo?ka=2")
            self.assertEqual(parts[1], "1", "first request: one new client connection")
            self.assertEqual(parts[3], "0", "second request must reuse the intercepted "
                             "client connection: %r" % r.stdout)
            stats = origin.stats()
            self.assertEqual(stats["requests"], 2, stats)
            self.assertEqual(stats["connections"], 1,
                             "origin saw %d upstream connections for two keep-alive requests"
                             % stats["connections"])
            self.assertEqual(stats["tls_handshakes_failed"], 0)
        finally:
            origin.stop()

    def test_many_requests_on_one_tls_connection(self):
        s = tls_via_proxy(self.proxy, "localhost", self.tls_origin.port, cafile=self.proxy_ca)
        try:
            for i in range(20):
                resp = https_request(s, "GET", "localhost:%d" % self.tls_origin.port,
                                     "/echo?n=%d" % i)
                self.assertEqual(resp.status, 200, resp)
                self.assertEqual(resp.json()["target"], "/echo?n=%d" % i)
        finally:
            s.close()

    def test_small_response_leaves_in_one_tls_record(self):
        # The origin sends head and body in one TLS record; the proxy must not encrypt
        # and send the head on its own (one record per piece costs CPU and bytes).
        port = self.tls_origin.port
        s, status, _ = harness.open_tunnel(self.proxy, "localhost", port)
        self.assertEqual(status, 200)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.proxy_ca)
        # TLS 1.2: no session tickets arriving later as application-data records.
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
        s.settimeout(10)
        with s:
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    s.sendall(outgoing.read())
                    data = s.recv(65536)
                    self.assertTrue(data, "proxy closed during the handshake")
                    incoming.write(data)
            s.sendall(outgoing.read())
            tls.write(b"GET /echo HTTP/1.1\r\nHost: localhost:%d\r\n\r\n" % port)
            s.sendall(outgoing.read())
            raw, plain = b"", b""
            while True:
                head, sep, body = plain.partition(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head + b"\r\n")
                if sep and length and len(body) >= int(length.group(1)):
                    break
                data = s.recv(65536)
                self.assertTrue(data, "proxy closed before the response was complete")
                raw += data
                incoming.write(data)
                try:
                    while True:
                        plain += tls.read(65536)
                except ssl.SSLWantReadError:
                    pass
        self.assertTrue(plain.startswith(b"HTTP/1.1 200"), plain[:200])
        records = []
        while raw:
            self.assertGreaterEqual(len(raw), 5)
            records.append(raw[0])
            raw = raw[5 + int.from_bytes(raw[3:5], "big"):]
        self.assertEqual(records, [23], "the response came in %d TLS records" % len(records))

    def test_ip_literal_v4(self):
        # curl sends no SNI for an IP literal: the CONNECT host names the certificate.
        r, body, codes, certs = self.curl_https(self.https_url("/echo?ip=4", host="127.0.0.1"))
        self.assertEqual(r.returncode, 0, "curl: %r\n%s" % (r.stderr, self.proxy.log()[-2000:]))
        self.assertEqual(codes, "200 200")
        self.assertEqual(json.loads(body)["target"], "/echo?ip=4")
        self.assertMintedFor(certs[0], "IP Address:127.0.0.1")
        # Python ssl verifies the IP SAN too.
        s = tls_via_proxy(self.proxy, "127.0.0.1", self.tls_origin.port, cafile=self.proxy_ca)
        try:
            self.assertIn("IP Address:127.0.0.1", harness.peer_cert_info(s)["san"])
        finally:
            s.close()

    def test_ip_literal_v6(self):
        harness.require(harness.ipv6_loopback_available(), "IPv6 loopback ::1 is unavailable",
                        "enable IPv6 on lo (sysctl -w net.ipv6.conf.lo.disable_ipv6=0)")
        origin6 = OriginProcess(tls_cert=self.origin_cert, tls_key=self.origin_key, bind="::1")
        try:
            r, body, codes, certs = self.curl_https(self.https_url("/echo?ip=6", host="::1",
                                                                   origin=origin6))
            self.assertEqual(r.returncode, 0, "curl: %r\n%s" % (r.stderr, self.proxy.log()[-2000:]))
            self.assertEqual(codes, "200 200")
            self.assertEqual(json.loads(body)["target"], "/echo?ip=6")
            info = self.assertMintedFor(certs[0], "IP Address:0:0:0:0:0:0:0:1")
            self.assertEqual(origin6.stats()["requests"], 1)
        finally:
            origin6.stop()

    def test_sni_with_port_falls_back_to_connect_host(self):
        # Some clients send "host:port" as SNI; the CONNECT host names the certificate.
        port = self.tls_origin.port
        s = tls_via_proxy(self.proxy, "localhost", port, server_hostname="localhost:%d" % port)
        try:
            info = harness.peer_cert_info(s)
            self.assertEqual(info["issuer"], self.proxy_ca_subject)
            self.assertIn("DNS:localhost", info["san"])
            resp = https_request(s, "GET", "localhost:%d" % port, "/echo?sni=port")
            self.assertEqual(resp.status, 200, resp)
        finally:
            s.close()

    def test_sni_names_the_certificate(self):
        # CONNECT to 127.0.0.1 with SNI h7.test: the minted leaf is for h7.test.
        s = tls_via_proxy(self.proxy, "127.0.0.1", self.tls_origin.port,
                          server_hostname="h7.test", cafile=self.proxy_ca)
        try:
            self.assertIn("DNS:h7.test", harness.peer_cert_info(s)["san"])
        finally:
            s.close()

    def test_httpx_client(self):
        script = r'''
import json, sys, httpx
proxy, url, ca = sys.argv[1], sys.argv[2], sys.argv[3]
major, minor = (int(x) for x in httpx.__version__.split(".")[:2])
kw = {"proxy": proxy} if (major, minor) >= (0, 26) else {"proxies": proxy}
with httpx.Client(timeout=10, verify=ca, **kw) as c:
    g = c.get(url + "?via=httpx&x=%20y")
    p = c.post(url, content=b"z" * 54321)
    h = c.head(url)
    print(json.dumps([g.status_code, g.json(), p.status_code, p.json(), h.status_code,
                      g.extensions.get("http_version", b"").decode()]))
'''
        for py in ("/usr/bin/python3", sys.executable):
            probe = subprocess.run([py, "-c", "import httpx"], capture_output=True)
            if probe.returncode == 0:
                break
        else:
            harness.skip_or_fail(harness.HTTPX_MISSING)
        r = subprocess.run([py, "-c", script, self.proxy.url, self.https_url("/echo"),
                            self.proxy_ca], capture_output=True, timeout=60,
                           env=harness.clean_env())
        self.assertEqual(r.returncode, 0, r.stderr.decode()[-3000:])
        gs, g, ps, p, hs, version = json.loads(r.stdout)
        self.assertEqual(gs, 200)
        self.assertEqual(g["target"], "/echo?via=httpx&x=%20y")
        self.assertEqual(ps, 200)
        self.assertEqual((p["method"], p["body_length"]), ("POST", 54321))
        self.assertEqual(p["body_sha256"], hashlib.sha256(b"z" * 54321).hexdigest())
        self.assertEqual(hs, 200)

    def test_openssl_s_client_shows_minted_chain(self):
        port = self.tls_origin.port
        r = harness.s_client(self.proxy, "localhost", port, servername="localhost",
                             cafile=self.proxy_ca, extra=["-verify_return_error"])
        out = r.stdout.decode("latin-1")
        self.assertEqual(r.returncode, 0, "s_client failed: %s\n%s" % (out[-2000:], r.stderr))
        self.assertIn("Verify return code: 0 (ok)", out)
        self.assertRegex(out, r"(?m)^ 0 s:CN ?= ?localhost")
        ca_cn = harness.common_name(self.proxy_ca_subject)
        self.assertRegex(out, r"(?m)^   i:.*CN ?= ?%s$" % re.escape(ca_cn))
        certs = pem_blocks(out)
        self.assertGreaterEqual(len(certs), 1)
        leaf = self.assertMintedFor(certs[0], "DNS:localhost")
        self.assertEqual(leaf["subject"], "CN=localhost")
        for pem in certs[1:]:
            # Anything sent after the leaf is our CA (never the origin's chain).
            self.assertEqual(cert_info(pem)["subject"], self.proxy_ca_subject)
        # The minted leaf is valid under our CA per the openssl CLI as well.
        d = harness.tmpdir("leaf")
        leaf_path = os.path.join(d, "leaf.pem")
        with open(leaf_path, "w") as f:
            f.write(certs[0] + "\n")
        v = subprocess.run(["openssl", "verify", "-CAfile", self.proxy_ca, "-purpose", "sslserver",
                            "-verify_hostname", "localhost", leaf_path], capture_output=True)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_concurrent_handshakes_mint_once_per_host(self):
        # 200 simultaneous CONNECT + handshakes to 50 names on a fresh proxy (empty
        # cache): every connection to a name must get the same certificate, so
        # exactly 50 distinct leaves, each valid for its name under our CA.
        proxy = self.start_proxy(access_log=None)
        hosts = ["h%d.test" % i for i in range(1, 51)]
        jobs = [hosts[i % 50] for i in range(200)]
        barrier = threading.Barrier(len(jobs), timeout=30)
        results = collections.defaultdict(list)
        errors = []
        lock = threading.Lock()

        def one(host):
            try:
                try:
                    barrier.wait()
                except threading.BrokenBarrierError:
                    pass
                s = tls_via_proxy(proxy, host, self.tls_origin.port, cafile=self.proxy_ca,
                                  timeout=30)
                try:
                    der = s.getpeercert(binary_form=True)
                finally:
                    s.close()
                with lock:
                    results[host].append(hashlib.sha256(der).hexdigest())
                    results.setdefault("der:" + host, []).append(der)
            except Exception as e:     # reported below
                with lock:
                    errors.append("%s: %r" % (host, e))

        threads = [threading.Thread(target=one, args=(h,), daemon=True) for h in jobs]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            self.assertFalse(any(t.is_alive() for t in threads), "handshakes hung")
            self.assertEqual(errors, [], "failed handshakes (%d): %s" % (len(errors), errors[:5]))
            fingerprints = {}
            for host in hosts:
                prints = set(results[host])
                self.assertEqual(len(results[host]), 4)
                self.assertEqual(len(prints), 1, "%s got %d different certificates"
                                 % (host, len(prints)))
                fingerprints[host] = prints.pop()
                info = cert_info(results["der:" + host][0])
                self.assertEqual(info["san"], ["DNS:" + host], info)
                self.assertEqual(info["issuer"], self.proxy_ca_subject)
            self.assertEqual(len(set(fingerprints.values())), 50)
        finally:
            harness.stop_and_check(proxy)


class ExistingCaTest(unittest.TestCase):
    """A CA made beforehand with `interpose ca init --dir D`, used with
    generate_if_missing: false; and a missing CA without generate_if_missing."""

    @classmethod
    def setUpClass(cls):
        cls.pki_dir = harness.tmpdir("pki")
        cls.origin_ca, cls.cert, cls.key = harness.make_test_pki(cls.pki_dir)
        cls.tls_origin = OriginProcess(tls_cert=cls.cert, tls_key=cls.key)

    @classmethod
    def tearDownClass(cls):
        cls.tls_origin.stop()

    def test_ca_init_then_intercept(self):
        d = os.path.join(harness.tmpdir("cainit"), "ca")
        r = subprocess.run([harness.interpose_bin(), "ca", "init", "--dir", d],
                           capture_output=True, timeout=30, env=harness.clean_env())
        # A failing `interpose ca init` is a bug in the proxy, never a reason to skip.
        self.assertEqual(r.returncode, 0, "`interpose ca init` failed: %r" % r.stderr[-2000:])
        ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
        self.assertTrue(os.path.exists(ca) and os.path.exists(ca_key),
                        "`interpose ca init` exited 0 but wrote no ca.pem/ca.key in %s" % d)
        self.assertEqual(os.stat(ca_key).st_mode & 0o077, 0, "CA key readable by others")
        with open(ca, "rb") as f:
            ca_pem = f.read()
        proxy = harness.Proxy(config=lambda port: harness.intercept_config(
            port, ca, ca_key, upstream_ca=self.origin_ca, generate_if_missing=False))
        try:
            r = harness.curl(proxy, "--cacert", ca, "-w", "\n%{http_code}\n%{certs}",
                             "https://localhost:%d/echo?ca=init" % self.tls_origin.port)
            self.assertEqual(r.returncode, 0, r.stderr)
            body, code, certs = r.stdout.decode("latin-1").split("\n", 2)
            self.assertEqual(code, "200", body)
            self.assertEqual(json.loads(body)["target"], "/echo?ca=init")
            self.assertEqual(cert_info(pem_blocks(certs)[0])["issuer"], harness.cert_subject(ca))
            with open(ca, "rb") as f:
                self.assertEqual(f.read(), ca_pem, "the proxy rewrote an existing CA")
        finally:
            harness.stop_and_check(proxy)

    def test_missing_ca_without_generate_fails_to_start(self):
        d = harness.tmpdir("noca")
        ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
        with self.assertRaises(RuntimeError) as cm:
            harness.Proxy(config=lambda port: harness.intercept_config(
                port, ca, ca_key, upstream_ca=self.origin_ca, generate_if_missing=False))
        self.assertIn(ca, str(cm.exception))
        self.assertFalse(os.path.exists(ca))


if __name__ == "__main__":
    harness.main()
