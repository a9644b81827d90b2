#!/usr/bin/env python3
"""The admin server (issue: admin server) and `interpose passthrough list|forget` (issue:
first hour): its endpoints over real sockets, the token, the drain it starts, the CA it
serves (byte for byte what `interpose ca export` writes), and forgetting a host whose client
refused our certificate so that it is intercepted again."""

import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time
import unittest

import harness


def admin_request(proxy, method, path, headers=None, timeout=5):
    """(status, headers dict with lower-case names, body bytes) from the proxy's admin server."""
    host, port = proxy.admin_address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def admin_json(proxy, path, method="GET", headers=None):
    status, _, body = admin_request(proxy, method, path, headers)
    return status, json.loads(body)


def with_ca(ca_dir):
    """proxy_config plus a `ca` cert provider whose files are in ca_dir."""
    def config(port):
        return ("cert_providers:\n  - name: local_ca\n    ca: { cert: %s, key: %s, generate_if_missing: true }\n"
                % (json.dumps(os.path.join(ca_dir, "ca.pem")), json.dumps(os.path.join(ca_dir, "ca.key")))
                + harness.proxy_config(port))
    return config


def run_interpose(*args, env=None, timeout=20):
    return subprocess.run([harness.interpose_bin()] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, env=env or harness.clean_env())


class AdminEndpointsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ca_dir = harness.tmpdir("admin-ca")
        cls.proxy = harness.Proxy(config=with_ca(cls.ca_dir), admin=True)

    @classmethod
    def tearDownClass(cls):
        harness.stop_and_check(cls.proxy)

    def test_index_lists_every_endpoint_with_its_help(self):
        status, headers, body = admin_request(self.proxy, "GET", "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"), headers)
        page = body.decode()
        for path in ("/ready", "/server_info", "/config_dump", "/certs", "/ca.pem", "/ca.der", "/passthrough",
                     "/logging", "/quitquitquit"):
            self.assertIn("<code>%s" % path if path in ("/logging", "/quitquitquit") else 'href="%s"' % path, page)
        self.assertIn("drain and exit", page)                  # help text is shown
        self.assertRegex(page, r"<code>DELETE</code></td><td><code>/passthrough/HOST\[:PORT\]</code>")

    def test_proxy_clients_cannot_reach_it_through_the_proxy(self):
        # Only the operator may: a proxied request to the admin address is a loop (508).
        r = harness.curl(self.proxy, "-s", "-o", "/dev/null", "-w", "%{http_code}",
                         "http://%s/ready" % self.proxy.admin_address)
        self.assertEqual(r.stdout, b"508", r.stderr)

    def test_ready_while_serving(self):
        status, _, body = admin_request(self.proxy, "GET", "/ready")
        self.assertEqual((status, body), (200, b"LIVE\n"))

    def test_server_info(self):
        status, info = admin_json(self.proxy, "/server_info")
        self.assertEqual(status, 200)
        version = run_interpose("--version").stdout.decode().split()[-1]
        self.assertEqual(info["version"], version)
        self.assertEqual(info["state"], "LIVE")
        self.assertEqual(info["pid"], self.proxy.pid)
        self.assertEqual(info["concurrency"], 2)
        self.assertIsInstance(info["uptime_s"], int)
        self.assertGreaterEqual(info["uptime_s"], 0)
        self.assertEqual(info["config"]["source"], self.proxy.config_path)
        with open(self.proxy.config_path, "rb") as f:
            self.assertEqual(info["config"]["sha256"], hashlib.sha256(f.read()).hexdigest())
        self.assertEqual(info["config"]["listeners"], [{"name": "proxy", "address": self.proxy.address}])
        self.assertIn(info["log_level"], ("info", "debug"))
        for key in ("compiler", "optimized", "boost", "tls_library", "llhttp"):
            self.assertIn(key, info["build"])

    def test_config_dump(self):
        status, dump = admin_json(self.proxy, "/config_dump")
        self.assertEqual(status, 200)
        config = dump["config"]
        self.assertEqual(dump["source"], self.proxy.config_path)
        self.assertEqual(config["listeners"][0]["name"], "proxy")
        self.assertEqual(config["listeners"][0]["address"], self.proxy.address)
        self.assertEqual(config["drain_timeout"], "2s")
        self.assertEqual(config["admin"]["address"], self.proxy.admin_address)
        # The CA's key path is under a key named `key`: redacted like any secret.
        self.assertEqual(config["cert_providers"][0]["ca"]["key"], "[redacted]")
        self.assertTrue(config["cert_providers"][0]["ca"]["generate_if_missing"] is True)

    def test_certs(self):
        status, certs = admin_json(self.proxy, "/certs")
        self.assertEqual(status, 200)
        [provider] = certs["cert_providers"]
        self.assertEqual(provider["name"], "local_ca")
        with open(os.path.join(self.ca_dir, "ca.pem")) as f:
            want = harness.cert_info(f.read())
        self.assertEqual(provider["ca"]["subject"], want["subject"])
        self.assertEqual(provider["ca"]["sha256"].replace(":", "").lower(), want["sha256"])
        self.assertRegex(provider["ca"]["not_after"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(time.strptime(provider["ca"]["not_after"], "%Y-%m-%dT%H:%M:%SZ"),
                         time.strptime(want["not_after"], "%b %d %H:%M:%S %Y GMT"))
        self.assertEqual(provider["ca"]["cert_path"], os.path.join(self.ca_dir, "ca.pem"))
        self.assertEqual(provider["ca"]["key_path"], os.path.join(self.ca_dir, "ca.key"))
        self.assertEqual((provider["minted"], provider["cache_size"], provider["cache_capacity"]), (0, 0, 10000))

    def test_ca_pem_and_der_are_what_ca_export_writes(self):
        for fmt, content_type in (("pem", "application/x-pem-file"), ("der", "application/x-x509-ca-cert")):
            with self.subTest(format=fmt):
                exported = run_interpose("ca", "export", "--dir", self.ca_dir, "--format", fmt)
                self.assertEqual(exported.returncode, 0, exported.stderr)
                status, headers, body = admin_request(self.proxy, "GET", "/ca." + fmt)
                self.assertEqual(status, 200)
                self.assertEqual(headers["content-type"], content_type)
                self.assertEqual(body, exported.stdout)
        status, _, page = admin_request(self.proxy, "GET", "/ca")
        self.assertEqual(status, 200)
        self.assertIn(b'href="/ca.pem"', page)

    def test_not_found_and_method_not_allowed(self):
        status, _, _ = admin_request(self.proxy, "GET", "/no_such_endpoint")
        self.assertEqual(status, 404)
        status, headers, _ = admin_request(self.proxy, "GET", "/quitquitquit")
        self.assertEqual(status, 405)
        self.assertEqual(headers["allow"], "POST")
        status, headers, _ = admin_request(self.proxy, "DELETE", "/ready")
        self.assertEqual(status, 405)
        self.assertEqual(headers["allow"], "GET, HEAD")
        self.assertTrue(self.proxy.alive())

    def test_malformed_request_gets_400_and_close(self):
        host, port = self.proxy.admin_address.rsplit(":", 1)
        for raw in (b"GARBAGE\r\n\r\n", b"GET /ready HTTP/1.1\r\nBad Header: x\r\n\r\n"):
            with self.subTest(request=raw):
                resp, reader = harness.send_and_read(self.proxy.admin_address, raw)
                try:
                    self.assertEqual(resp.status, 400)
                    closed, _ = harness.wait_closed(reader, 3)
                    self.assertTrue(closed, "connection left open after a malformed request")
                finally:
                    reader.sock.close()
        self.assertEqual(admin_request(self.proxy, "GET", "/ready")[0], 200)

    def test_a_stalled_client_does_not_block_others(self):
        s = harness.connect(self.proxy.admin_address)
        try:
            s.sendall(b"GET /ready HTTP/1.1\r\nHost: 127")
            start = time.monotonic()
            self.assertEqual(admin_request(self.proxy, "GET", "/ready")[0], 200)
            self.assertLess(time.monotonic() - start, 1.0)
        finally:
            s.close()

    def test_dns_rebinding_host_is_refused_without_a_token(self):
        status, _, _ = admin_request(self.proxy, "GET", "/config_dump", {"Host": "attacker.example"})
        self.assertEqual(status, 403)

    def test_log_level(self):
        try:
            status, _, _ = admin_request(self.proxy, "POST", "/logging?level=debug")
            self.assertEqual(status, 200)
            self.assertEqual(admin_json(self.proxy, "/server_info")[1]["log_level"], "debug")
            self.assertTrue(harness.wait_for_log(self.proxy, "admin: log level set to debug"))
            status, _, body = admin_request(self.proxy, "POST", "/logging?level=loud")
            self.assertEqual(status, 400)
            self.assertIn(b"debug, info, warn or error", body)
        finally:
            admin_request(self.proxy, "POST", "/logging?level=info")
        self.assertEqual(admin_json(self.proxy, "/server_info")[1]["log_level"], "info")

    def test_second_instance_on_the_admin_address_is_refused(self):
        # Another listener port, the same admin address: the admin port is checked too.
        other = os.path.join(harness.tmpdir("admin-second"), "second.yaml")
        with open(other, "w") as f:
            f.write(harness.proxy_config(harness.free_port())
                    + "admin:\n  address: %s\n" % self.proxy.admin_address)
        r = run_interpose("-c", other, "--concurrency", "1")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(("admin: cannot listen on %s: address already in use" % self.proxy.admin_address).encode(),
                      r.stderr)
        self.assertEqual(admin_request(self.proxy, "GET", "/ready")[0], 200)


class QuitTest(unittest.TestCase):
    def test_quitquitquit_drains_like_sigterm(self):
        origin = harness.OriginProcess()
        proxy = harness.Proxy(admin=True)
        try:
            self.assertEqual(admin_request(proxy, "GET", "/ready")[0], 200)
            result = {}
            slow = threading.Thread(target=lambda: result.update(
                r=harness.curl(proxy, "-w", "\n%{http_code}", origin.url("/delay?ms=1500"))))
            slow.start()
            time.sleep(0.3)     # the request is now waiting on the origin
            status, _, _ = admin_request(proxy, "POST", "/quitquitquit")
            self.assertEqual(status, 200)
            # Draining: not ready, while the request in flight finishes.
            deadline = time.monotonic() + 1
            ready = None
            while time.monotonic() < deadline:
                ready = admin_request(proxy, "GET", "/ready")
                if ready[0] == 503:
                    break
                time.sleep(0.02)
            self.assertEqual((ready[0], ready[2]), (503, b"DRAINING\n"))
            self.assertEqual(admin_json(proxy, "/server_info")[1]["state"], "DRAINING")
            try:
                rc = proxy.proc.wait(harness.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                rc = "still running"
            slow.join(10)
            self.assertEqual(rc, 0, proxy.log()[-2000:])
            self.assertEqual(result["r"].stdout, b"delayed 1500 ms\n\n200")
            self.assertIn("admin /quitquitquit: draining", proxy.log())
        finally:
            proxy.kill()
            origin.stop()


class TokenTest(unittest.TestCase):
    TOKEN = "t0ken-for-admin-test"

    @classmethod
    def setUpClass(cls):
        cls.proxy = harness.Proxy(admin={"token": cls.TOKEN})

    @classmethod
    def tearDownClass(cls):
        harness.stop_and_check(cls.proxy)

    def test_every_endpoint_needs_the_token(self):
        for path in ("/", "/ready", "/config_dump", "/no_such_endpoint"):
            with self.subTest(path=path):
                status, headers, _ = admin_request(self.proxy, "GET", path)
                self.assertEqual(status, 401)
                self.assertEqual(headers["www-authenticate"], 'Bearer realm="interpose admin"')
        wrong = {"Authorization": "Bearer " + self.TOKEN[:-1] + "X"}
        self.assertEqual(admin_request(self.proxy, "GET", "/ready", wrong)[0], 401)
        right = {"Authorization": "Bearer " + self.TOKEN}
        self.assertEqual(admin_request(self.proxy, "GET", "/ready", right)[0], 200)
        self.assertEqual(admin_request(self.proxy, "POST", "/quitquitquit", wrong)[0], 401)
        self.assertTrue(self.proxy.alive())

    def test_config_dump_redacts_the_token(self):
        status, _, body = admin_request(self.proxy, "GET", "/config_dump",
                                        {"Authorization": "Bearer " + self.TOKEN})
        self.assertEqual(status, 200)
        self.assertNotIn(self.TOKEN.encode(), body)
        self.assertEqual(json.loads(body)["config"]["admin"]["token"], "[redacted]")

    def test_cli_uses_the_token_from_its_file_or_the_environment(self):
        token_file = os.path.join(harness.tmpdir("admin-token"), "token")
        with open(token_file, "w") as f:
            f.write(self.TOKEN + "\n")
        r = run_interpose("passthrough", "list", "--admin", self.proxy.admin_address, "--token-file", token_file)
        self.assertEqual((r.returncode, r.stdout), (0, b"no learned passthrough hosts\n"), r.stderr)
        env = dict(harness.clean_env(), INTERPOSE_ADMIN_TOKEN=self.TOKEN)
        r = run_interpose("passthrough", "list", "--admin", self.proxy.admin_address, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_interpose("passthrough", "list", "--admin", self.proxy.admin_address)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"asks for a token", r.stderr)
        # -c CONFIG: the address and the token come from the config.
        r = run_interpose("passthrough", "list", "-c", self.proxy.config_path)
        self.assertEqual(r.returncode, 0, r.stderr)


class AdminConfigErrorsTest(unittest.TestCase):
    def write(self, text):
        path = os.path.join(harness.tmpdir("admin-config"), "admin.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_non_loopback_admin_without_token_is_refused_at_load(self):
        port = harness.free_port()
        path = self.write("admin:\n  address: 0.0.0.0:%d\n" % port + harness.proxy_config(harness.free_port()))
        expected = "%s:2:12: admin.address: 0.0.0.0:%d is reachable from other machines" % (path, port)
        for mode in ("validate", "serve"):
            with self.subTest(mode=mode):
                r = run_interpose("--mode", mode, "-c", path)
                self.assertEqual(r.returncode, 1)
                self.assertIn(expected, r.stderr.decode(), r.stderr)
        token_file = os.path.join(os.path.dirname(path), "token")
        with open(token_file, "w") as f:
            f.write("secret\n")
        ok = self.write("admin:\n  address: 0.0.0.0:%d\n  token_file: %s\n" % (port, json.dumps(token_file))
                        + harness.proxy_config(harness.free_port()))
        r = run_interpose("--mode", "validate", "-c", ok)
        self.assertEqual((r.returncode, r.stdout), (0, b"OK\n"), r.stderr)


class PassthroughCommandTest(harness.InterceptTestCase):
    """A client refuses our certificate (curl trusting only the system store): the host is
    learned and passed through; `interpose passthrough forget` makes it intercepted again."""
    admin = True

    def passthrough(self, *args):
        return run_interpose("passthrough", *(list(args) + ["--admin", self.proxy.admin_address]))

    def issuer(self, host):
        s = harness.tls_via_proxy(self.proxy, host, self.tls_origin.port)   # no verification
        try:
            return harness.peer_cert_info(s)["issuer"]
        finally:
            s.close()

    def learn(self, host):
        url = self.https_url("/status/200", host=host)
        r = self.curl("-o", "/dev/null", url)           # no --cacert: our CA is unknown to curl
        self.assertEqual(r.returncode, 60, r.stderr)
        needle = "%s:%d" % (host, self.tls_origin.port)
        deadline = time.monotonic() + 3
        while True:
            listed = self.passthrough("list")
            if needle.encode() in listed.stdout or time.monotonic() > deadline:
                return listed
            time.sleep(0.05)

    def test_list_then_forget_makes_the_host_intercepted_again(self):
        host = "pinme.test"
        self.assertEqual(self.issuer(host), self.proxy_ca_subject)     # intercepted at first
        listed = self.learn(host)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        rows = listed.stdout.decode().splitlines()
        self.assertEqual(rows[0].split(), ["HOST:PORT", "TLS", "ALERT", "LEARNED", "AT", "EXPIRES", "IN"])
        [row] = [r for r in rows[1:] if r.startswith("%s:%d " % (host, self.tls_origin.port))]
        self.assertIn("unknown CA", row)
        self.assertRegex(row, r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+(59m|1h 0m)")
        status, listed_json = admin_json(self.proxy, "/passthrough")
        entry = [h for h in listed_json["hosts"] if h["host"] == host][0]
        self.assertEqual((entry["port"], entry["alert"]), (self.tls_origin.port, "unknown CA"))
        self.assertGreater(entry["expires_in_s"], 3500)
        self.assertIn("forget it with: interpose passthrough forget %s" % host, self.proxy.log())
        # The negative control: learned, so passed through (the origin's own certificate).
        self.assertEqual(self.issuer(host), self.origin_ca_subject)

        r = self.passthrough("forget", host)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(("forgot %s:%d (TLS alert: unknown CA)" % (host, self.tls_origin.port)).encode(), r.stdout)
        self.assertEqual(self.passthrough("list").stdout, b"no learned passthrough hosts\n")
        self.assertEqual(self.issuer(host), self.proxy_ca_subject)     # intercepted again

        r = self.passthrough("forget", host)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"no learned passthrough host matches pinme.test", r.stderr)

    def test_forget_by_port_and_all(self):
        host = "pinme2.test"
        self.learn(host)
        other_port = harness.closed_port()
        r = self.passthrough("forget", "%s:%d" % (host, other_port))
        self.assertEqual(r.returncode, 1)                               # another port: nothing matched
        self.assertIn(("no learned passthrough host matches %s:%d" % (host, other_port)).encode(), r.stderr)
        self.assertEqual(self.issuer(host), self.origin_ca_subject)
        r = self.passthrough("forget")
        self.assertEqual(r.returncode, 2)                               # no host, no --all
        self.assertIn(b"--all", r.stderr)
        r = self.passthrough("forget", "--all")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(("forgot %s:%d" % (host, self.tls_origin.port)).encode(), r.stdout)
        self.assertEqual(self.issuer(host), self.proxy_ca_subject)
        status, _, body = admin_request(self.proxy, "DELETE", "/passthrough")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body)["error"], "no learned passthrough hosts to forget")

    def test_no_admin_server_is_a_clear_error(self):
        port = harness.closed_port()
        r = run_interpose("passthrough", "list", "--admin", "127.0.0.1:%d" % port)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode().strip(),
                         "interpose passthrough: no interpose admin server at 127.0.0.1:%d (is interpose running? "
                         "is admin: set in its config?)" % port)


if __name__ == "__main__":
    harness.main()
