#!/usr/bin/env python3
"""Access control (issue: access control): the loop guard.

A request or CONNECT whose destination is the proxy's own listener used to be forwarded to
ourselves, hop after hop, until the process ran out of file descriptors (about 500 hops
from one `GET http://127.0.0.1:8080/`). Now it is answered 508 Loop Detected at once.
"""

import os
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
        # Only DNS knows: the tunnel's tcp_proxy refuses to connect, and the CONNECT fails.
        authority = "loop.test:%d" % self.proxy.port
        self.assert_loop_refused("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority), status=502)

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


if __name__ == "__main__":
    harness.main()
