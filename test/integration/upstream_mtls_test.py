"""Mutual TLS to origins: the router presents upstream_tls.client_cert/client_key, and an
origin that requires a client certificate accepts intercepted requests only then."""

import json
import os
import subprocess
import time

import harness


class UpstreamMutualTlsTest(harness.InterceptTestCase):
    proxy_per_test = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A second origin that demands a client certificate from the test CA.
        cls.ca_key = os.path.join(cls.pki_dir, "testca.key")
        cls.client_cert, cls.client_key = harness.make_leaf(
            cls.pki_dir, "client", cls.origin_ca, cls.ca_key, cn="interpose-client",
            dns_names=("client.test",), ips=(), eku="clientAuth")
        cls.mtls_origin = harness.OriginProcess(tls_cert=cls.origin_cert, tls_key=cls.origin_key,
                                                client_ca=cls.origin_ca)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.mtls_origin.stop()
        finally:
            super().tearDownClass()

    def get(self, path):
        url = "https://localhost:%d%s" % (self.mtls_origin.port, path)
        r = harness.curl(self.proxy, "--cacert", self.proxy_ca, "-w", "\n%{http_code}", url)
        body, _, code = r.stdout.rpartition(b"\n")
        return code.decode(), body

    def test_client_certificate_is_presented(self):
        self.proxy = self.start_proxy(client_cert=self.client_cert, client_key=self.client_key)
        code, body = self.get("/echo?mtls=1")
        self.assertEqual(code, "200", body)
        echo = json.loads(body)
        self.assertEqual(echo["client_subject"]["commonName"], "interpose-client")
        self.assertEqual(echo["target"], "/echo?mtls=1")

    def test_without_client_certificate_the_origin_refuses(self):
        self.proxy = self.start_proxy()
        before = self.mtls_origin.stats()
        code, body = self.get("/echo")
        self.assertEqual(code, "502", body)
        self.assertIn(b"upstream TLS error", body)
        # The origin refused in the handshake: it failed there, and no request got through.
        deadline = time.monotonic() + 5
        while (self.mtls_origin.stats()["tls_handshakes_failed"] == before["tls_handshakes_failed"]
               and time.monotonic() < deadline):
            time.sleep(0.05)
        after = self.mtls_origin.stats()
        self.assertGreater(after["tls_handshakes_failed"], before["tls_handshakes_failed"], after)
        self.assertEqual(after["tls_handshakes"], before["tls_handshakes"], after)
        self.assertEqual(after["requests"], before["requests"], after)
        # The refusal is that origin's alone: intercepted requests to an origin that asks
        # for no client certificate still get 200.
        self.assertProxyServing()

    def test_key_without_certificate_is_a_config_error(self):
        self.proxy = self.start_proxy()  # for the class's teardown
        cfg = os.path.join(self.ca_dir, "bad-mtls.yaml")
        with open(cfg, "w") as f:
            f.write(harness.intercept_config(18999, self.proxy_ca, self.proxy_ca_key,
                                             upstream_ca=self.origin_ca)
                    .replace("upstream_tls: { ", "upstream_tls: { client_key: %s, " % json.dumps(self.client_key)))
        r = subprocess.run([harness.interpose_bin(), "--mode", "validate", "-c", cfg],
                           capture_output=True, env=harness.clean_env(), timeout=30)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn(b"client_cert and client_key go together", r.stderr)
        self.assertIn(b"bad-mtls.yaml:", r.stderr)


if __name__ == "__main__":
    harness.main()
