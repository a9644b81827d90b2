#!/usr/bin/env python3
"""Access control (issue: access control): the loop guard and the destination policy.

A request or CONNECT whose destination is the proxy's own listener used to be forwarded to
ourselves, hop after hop, until the process ran out of file descriptors (about 500 hops
from one `GET http://127.0.0.1:8080/`). Now it is answered 508 Loop Detected at once.
"""

import os
import subprocess
import time
import unittest

import harness


def fd_count(proxy):
    return len(os.listdir("/proc/%d/fd" % proxy.pid))


def wildcard_config(port):
    return """listeners:
  - name: everywhere
    address: 0.0.0.0:%d
    allow_open_proxy: true
    filter_chains:
      - match: { tunneled: true }
        filters: [ { name: tcp_proxy } ]
      - filters: [ { name: http_connection_manager } ]
""" % port


class LoopGuardTest(harness.ProxyTestCase):
    proxy_kwargs = {"hosts": ["loop.test"]}

    def request(self, text):
        start = time.monotonic()
        resp, reader = harness.send_and_read(self.proxy, text.encode(), timeout=10)
        reader.sock.close()
        return resp, time.monotonic() - start

    def assert_loop_refused(self, text, status=508):
        fds_before = fd_count(self.proxy)
        lines_before = len(self.proxy.log().splitlines())
        resp, elapsed = self.request(text)
        self.assertEqual(resp.status, status, resp)
        self.assertIn(b"loop detected", resp.body)
        self.assertLess(elapsed, 3, "the loop guard took %.1f s" % elapsed)
        time.sleep(0.2)
        self.assertLessEqual(fd_count(self.proxy), fds_before + 2)
        self.assertLessEqual(len(self.proxy.log().splitlines()) - lines_before, 3, self.proxy.log()[-2000:])
        self.assertProxyServing()
        return resp

    def test_get_to_own_address(self):
        resp = self.assert_loop_refused("GET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n"
                                        % (self.proxy.address, self.proxy.address))
        self.assertEqual(resp.reason, "Loop Detected")

    def test_get_to_a_name_that_resolves_to_us(self):
        for host in ("localhost", "loop.test"):
            authority = "%s:%d" % (host, self.proxy.port)
            self.assert_loop_refused("GET http://%s/x HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority))

    def test_connect_to_own_address(self):
        for host in ("127.0.0.1", "localhost", "LOCALHOST", "app.localhost"):
            authority = "%s:%d" % (host, self.proxy.port)
            self.assert_loop_refused("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority))

    def test_connect_through_a_name_that_resolves_to_us(self):
        # Only DNS knows: the tunnel's tcp_proxy refuses to connect, and the CONNECT gets 508.
        authority = "loop.test:%d" % self.proxy.port
        self.assert_loop_refused("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority))

    def test_other_ports_of_this_host_still_work(self):
        resp, _ = self.request("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                               % (self.origin.url("/status/200"), self.origin.authority))
        self.assertEqual(resp.status, 200)
        s, status, _ = harness.open_tunnel(self.proxy, "127.0.0.1", self.origin.port)
        s.close()
        self.assertEqual(status, 200)


class ChainedListenersTest(unittest.TestCase):
    """A destination the config names may be our own listener on purpose: only destinations
    a client chose are loops."""

    def test_tcp_proxy_to_another_listener_of_ours(self):
        back = harness.free_port()
        origin = harness.OriginProcess()

        def config(port):
            return """listeners:
  - name: front
    address: 127.0.0.1:%d
    filter_chains: [ { filters: [ { name: tcp_proxy, config: { destination: "127.0.0.1:%d" } } ] } ]
  - name: back
    address: 127.0.0.1:%d
    filter_chains: [ { filters: [ { name: http_connection_manager } ] } ]
""" % (port, back, back)
        proxy = harness.Proxy(config=config)
        try:
            r = harness.curl(proxy, "-o", "/dev/null", "-w", "%{http_code}", origin.url("/status/200"))
            self.assertEqual(r.stdout, b"200", r.stderr)
        finally:
            harness.stop_and_check(proxy)
            origin.stop()


class WildcardListenerLoopTest(unittest.TestCase):
    """A listener on 0.0.0.0 is reached through every local address."""

    def test_loopback_and_interface_addresses_are_ours(self):
        proxy = harness.Proxy(config=wildcard_config)
        try:
            for host in ("127.0.0.1", "127.0.0.2"):
                authority = "%s:%d" % (host, proxy.port)
                resp, reader = harness.send_and_read(
                    proxy, ("GET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority)).encode())
                reader.sock.close()
                self.assertEqual(resp.status, 508, resp)
        finally:
            harness.stop_and_check(proxy)


def policy_config(port, origin_port, address="127.0.0.1", rules=None):
    rules = rules or """
        - { name: test-origin, action: allow, networks: [127.0.0.1/32], ports: [%d] }
        - { name: blocked, action: deny, hosts: ["*.blocked.test"] }
        - { name: no-private, action: deny, networks: [private_networks] }
        - { name: tls-ports, action: deny, connect: true, ports: ["1-442", "444-65535"] }""" % origin_port
    return """listeners:
  - name: office
    address: %s:%d
    destination_policy:
      rules:%s
    filter_chains:
      - match: { tunneled: true }
        filters: [ { name: tcp_proxy, config: { connect_timeout: 2s } } ]
      - filters:
          - name: http_connection_manager
            config: { http_filters: [ { name: access_log }, { name: router } ] }
""" % (address, port, rules)


class DestinationPolicyTest(unittest.TestCase):
    """Private networks denied however the destination is spelled (an IP literal, a name
    that resolves to one), checked by CONNECT, tcp_proxy and the router alike."""

    @classmethod
    def setUpClass(cls):
        cls.origin = harness.OriginProcess()
        try:
            cls.proxy = harness.Proxy(config=lambda port: policy_config(port, cls.origin.port),
                                      hosts=["rebind.test", "x.blocked.test"])
        except BaseException:
            cls.origin.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            harness.stop_and_check(cls.proxy)
        finally:
            cls.origin.stop()

    def request(self, text):
        start = time.monotonic()
        resp, reader = harness.send_and_read(self.proxy, text.encode(), timeout=10)
        reader.sock.close()
        self.assertLess(time.monotonic() - start, 3)
        return resp

    def assert_denied(self, resp, rule):
        self.assertEqual(resp.status, 403, resp)
        self.assertIn(("denied by destination_policy rule '%s'" % rule).encode(), resp.body)

    def connect(self, authority):
        return self.request("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority))

    def get(self, authority):
        return self.request("GET http://%s/status/200 HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority))

    def test_connect_to_private_literals(self):
        for authority in ("127.0.0.1:22", "169.254.169.254:443", "[fd00:ec2::254]:443", "10.0.0.1:443",
                          "[::ffff:127.0.0.1]:443"):
            self.assert_denied(self.connect(authority), "no-private")

    def test_a_name_that_resolves_to_loopback_is_caught_after_dns(self):
        port = harness.closed_port()
        self.assert_denied(self.connect("rebind.test:%d" % port), "no-private")   # tcp_proxy
        self.assert_denied(self.get("rebind.test:%d" % port), "no-private")       # router
        # The origin itself, by a name: the allow rule is for its address and port.
        self.assertEqual(self.get("rebind.test:%d" % self.origin.port).status, 200)

    def test_name_rules_need_no_dns(self):
        # nowhere.blocked.test does not resolve: a 502 (UH) would show a lookup was made.
        self.assert_denied(self.get("nowhere.blocked.test"), "blocked")
        self.assert_denied(self.connect("nowhere.blocked.test:443"), "blocked")

    def test_connect_only_to_tls_ports(self):
        # A public literal: decided without connecting.
        self.assert_denied(self.connect("192.0.2.1:25"), "tls-ports")

    def test_allowed_destination_passes_both_ways(self):
        self.assertEqual(self.get("127.0.0.1:%d" % self.origin.port).status, 200)
        s, status, _ = harness.open_tunnel(self.proxy, "127.0.0.1", self.origin.port)
        s.close()
        self.assertEqual(status, 200)

    def test_log_names_flag_and_rule(self):
        self.get("10.9.9.9:80")
        self.assertTrue(harness.wait_for_log(self.proxy, '"GET /status/200 HTTP/1.1" 403 LR,DD '), self.proxy.log())
        self.assertIn("denied by destination_policy rule 'no-private'", self.proxy.log())


class OpenProxyCheckTest(unittest.TestCase):
    def validate(self, text):
        path = os.path.join(harness.tmpdir("openproxy"), "c.yaml")
        with open(path, "w") as f:
            f.write(text)
        return subprocess.run([harness.interpose_bin(), "--mode", "validate", "-c", path],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def test_a_policy_that_denies_private_networks_satisfies_it(self):
        r = self.validate(policy_config(3128, 9, address="0.0.0.0"))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_a_policy_that_leaves_private_networks_open_does_not(self):
        for rules in ("- { action: allow }", "- { action: deny, ports: [25] }",
                      "- { action: deny, connect: false, networks: [private_networks] }"):
            r = self.validate(policy_config(3128, 9, address="0.0.0.0", rules="\n        " + rules))
            self.assertEqual(r.returncode, 1, rules)
            self.assertIn("add a destination_policy that denies private_networks", r.stderr)


if __name__ == "__main__":
    harness.main()
