#!/usr/bin/env python3
"""The first hour (issue: first hour): the traps a newcomer met with the embedded default
config and the command line, each checked the way they met it."""

import os
import ssl
import subprocess
import unittest

import harness


def embedded_default(directory):
    """The embedded default config, on a free port and with its CA in `directory`."""
    text = subprocess.check_output([harness.interpose_bin(), "--print-default-config"]).decode()
    assert "127.0.0.1:8080" in text and "ca: { generate_if_missing: true }" in text, text
    assert "address: 127.0.0.1:9901" in text, text      # the admin server, moved off its port too

    def config(port):
        ca = "ca: { cert: %s/ca.pem, key: %s/ca.key, generate_if_missing: true }" % (directory, directory)
        return (text.replace("127.0.0.1:8080", "127.0.0.1:%d" % port)
                .replace("127.0.0.1:9901", "127.0.0.1:%d" % harness.free_port())
                .replace("ca: { generate_if_missing: true }", ca))
    return config


class DefaultConfigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = harness.tmpdir("first-run")
        cert, key = harness.make_self_signed(cls.dir, "origin")
        cls.origin = harness.OriginProcess(tls_cert=cert, tls_key=key)
        cls.proxy = harness.Proxy(config=embedded_default(cls.dir))
        cls.proxy_ca = os.path.join(cls.dir, "ca.pem")

    @classmethod
    def tearDownClass(cls):
        try:
            harness.stop_and_check(cls.proxy)
        finally:
            cls.origin.stop()

    def test_a_request_before_trusting_the_ca_does_not_switch_interception_off(self):
        # The first try, before the CA is trusted: the client refuses our certificate.
        with self.assertRaises(ssl.SSLCertVerificationError):
            harness.tls_via_proxy(self.proxy, "127.0.0.1", self.origin.port, server_hostname="localhost",
                                  cafile=os.path.join(self.dir, "origin.pem"))
        # Trusting the CA now works at once: the host is still intercepted (our minted
        # certificate), not tunnelled to the origin's own for an hour.
        for _ in range(2):
            s = harness.tls_via_proxy(self.proxy, "127.0.0.1", self.origin.port, server_hostname="localhost",
                                      cafile=self.proxy_ca)
            issuer = harness.peer_cert_info(s)["issuer"]
            s.close()
            self.assertEqual(issuer, harness.cert_subject(self.proxy_ca))

    def test_help_says_what_the_default_does(self):
        out = subprocess.check_output([harness.interpose_bin(), "--help"]).decode()
        self.assertIn("intercepts HTTPS", out)
        self.assertIn("ca.pem", out)
        self.assertNotIn("logs requests to stdout)", out)


class SecondInstanceTest(unittest.TestCase):
    """Our workers share a port with SO_REUSEPORT, which let a second process bind it too:
    requests then landed on either at random."""

    def test_second_instance_on_the_same_address_is_refused(self):
        first = harness.Proxy()
        try:
            r = subprocess.run([harness.interpose_bin(), "-c", first.config_path, "--concurrency", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20,
                               env=harness.clean_env())
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(b"address already in use", r.stderr)
            self.assertIn(first.address.encode(), r.stderr)
            self.assertTrue(first.alive())
            origin = harness.OriginProcess()
            try:
                for _ in range(10):  # every request to the address reaches the first proxy
                    r = harness.curl(first, "-o", "/dev/null", "-w", "%{http_code}", origin.url("/status/200"))
                    self.assertEqual(r.stdout, b"200")
            finally:
                origin.stop()
        finally:
            harness.stop_and_check(first)


if __name__ == "__main__":
    harness.main()
