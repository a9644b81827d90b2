#!/usr/bin/env python3
"""HTTP/2 towards clients: the proxy speaks h2 downstream (TLS with ALPN h2 inside
CONNECT tunnels, transparent TLS, h2c with prior knowledge) and HTTP/1.1 to origins.

One proxy serves three listeners (the config is harness.intercept_config() with
`alpn: [h2, http/1.1]`, plus two listeners appended):

  proxy        forward proxy: CONNECT tunnels are intercepted (h2 or http/1.1 by
               ALPN), plain requests are proxied (codec auto)
  transparent  TLS sent straight to the proxy (no CONNECT): tls_intercept with
               default_server_name localhost; the router goes where :authority says
  h2c          plaintext, codec auto: h2c with prior knowledge (or HTTP/1.1);
               max_request_headers 16KiB, so that the header-size limit can be
               reached below HPACK's own 64 KiB field limit

Clients: curl --http2, nghttp, h2load-free python `h2` (installed for /usr/bin/python3)
over TLS or plaintext sockets, httpx with http2=True. The origins are origin.py (TLS
with a test CA, and plain).

Run: python3 test/integration/http2_test.py --interpose bazel-bin/source/exe/interpose
"""

import concurrent.futures
import hashlib
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
import unittest

import harness
from harness import OriginProcess, Proxy, origin_mod, stop_and_check

try:
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
    import h2.exceptions
    import h2.settings
    HAVE_H2 = True
except ImportError:            # the python running us has no h2: see need_h2
    HAVE_H2 = False

try:
    import httpx
    HAVE_HTTPX = True
except ImportError:
    HAVE_HTTPX = False

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2C_MAX_REQUEST_HEADERS = 16 * 1024
ENHANCE_YOUR_CALM = 11
PROTOCOL_ERROR = 1
REFUSED_STREAM = 7
MIB = 1024 * 1024

need_h2 = harness.needs(HAVE_H2, harness.H2_MISSING)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- raw frames

def frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream_id & 0x7FFFFFFF) + payload


def parse_frames(data):
    """Complete frames in data as (type, flags, stream_id, payload); a partial tail is ignored."""
    out = []
    i = 0
    while len(data) - i >= 9:
        length = int.from_bytes(data[i:i + 3], "big")
        if len(data) - i - 9 < length:
            break
        ftype, flags = data[i + 3], data[i + 4]
        sid = int.from_bytes(data[i + 5:i + 9], "big") & 0x7FFFFFFF
        out.append((ftype, flags, sid, data[i + 9:i + 9 + length]))
        i += 9 + length
    return out


def goaway_codes(data):
    return [int.from_bytes(p[4:8], "big") for t, _, _, p in parse_frames(data) if t == 7]


def read_until_closed(sock, timeout=5.0, limit=4 * MIB):
    """(closed, bytes): everything the peer sent until it closed (or the timeout)."""
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline and len(buf) < limit:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return False, buf
        except (ConnectionResetError, ssl.SSLError, OSError):
            return True, buf
        if not data:
            return True, buf
        buf += data
    return False, buf


# ---------------------------------------------------------------- an h2 client

class H2Client:
    """A minimal HTTP/2 client on python h2 over a connected (TLS or plain) socket.
    Responses are collected per stream: status, headers, body, trailers, reset code."""

    def __init__(self, sock, authority, scheme="https", window=4 * MIB, keep_raw=False):
        self.sock = sock
        # keep_raw: keep every byte received, so that a GOAWAY can be found in them even
        # when h2 gives up on the connection (it raises on some frames after a GOAWAY or
        # on streams it reset, and then the events of that read are lost).
        self.keep_raw = keep_raw
        self.raw = b""
        self.send_failed = None
        self.authority = authority
        self.scheme = scheme
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="latin-1")
        self.conn = h2.connection.H2Connection(config=cfg)
        self.conn.initiate_connection()
        self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.conn.increment_flow_control_window(64 * MIB)
        self.streams = {}
        self.terminated = None         # ConnectionTerminated event
        self.closed = False
        self.remote_settings_seen = False
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data and self.send_failed is None:
            try:
                self.sock.sendall(data)
            except (OSError, ssl.SSLError) as e:
                # The peer closed while we were writing: what it sent is still read.
                self.send_failed = e

    def request(self, path, method="GET", headers=(), body=None, end_stream=True, authority=None,
                content_length=True):
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":scheme", self.scheme),
                (":authority", authority or self.authority), (":path", path)]
        if body is not None and content_length:
            hdrs.append(("content-length", str(len(body))))
        hdrs += list(headers)
        self.streams[sid] = {"status": None, "headers": [], "body": [], "ended": False,
                             "reset": None, "trailers": None}
        self.conn.send_headers(sid, hdrs, end_stream=end_stream and body is None)
        if body is not None:
            self._send_body(sid, body, end_stream)
        self.flush()
        return sid

    def _send_body(self, sid, body, end_stream, deadline=None):
        deadline = deadline or time.monotonic() + 30
        off = 0
        while off < len(body):
            window = min(self.conn.local_flow_control_window(sid),
                         self.conn.max_outbound_frame_size)
            if window <= 0:
                self.flush()
                self.pump_once(deadline)
                if self.closed:
                    raise ConnectionError("closed while sending a body")
                continue
            piece = body[off:off + window]
            self.conn.send_data(sid, piece)
            off += len(piece)
            self.flush()
        if end_stream:
            self.conn.end_stream(sid)
        self.flush()

    def pump_once(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("h2 client: deadline exceeded")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(256 * 1024)
        except (ConnectionResetError, ssl.SSLEOFError, BrokenPipeError):
            data = b""
        if not data:
            self.closed = True
            return
        if self.keep_raw:
            self.raw += data
        if getattr(self, "protocol_error", None) is not None:
            return                  # h2 gave up; only the raw bytes are collected now
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            self.protocol_error = e
            if not self.keep_raw:
                self.closed = True
            return
        for ev in events:
            self._event(ev)
        self.flush()

    def poll(self, seconds=0.0):
        """Reads what has arrived within `seconds` (none: what is there already)."""
        deadline = time.monotonic() + max(seconds, 0.001)
        try:
            while not self.closed:
                self.pump_once(deadline)
        except socket.timeout:
            pass

    def goaway_codes(self):
        """Error codes of every GOAWAY received (from the raw bytes when kept)."""
        if self.keep_raw:
            return goaway_codes(self.raw)
        return [self.terminated.error_code] if self.terminated is not None else []

    def _event(self, ev):
        st = self.streams.get(getattr(ev, "stream_id", None))
        if isinstance(ev, h2.events.ResponseReceived) and st is not None:
            st["headers"] = list(ev.headers)
            st["status"] = int(dict(ev.headers)[":status"])
        elif isinstance(ev, h2.events.DataReceived):
            if st is not None:
                st["body"].append(ev.data)
            if ev.flow_controlled_length:
                try:
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                except h2.exceptions.StreamClosedError:
                    pass
        elif isinstance(ev, h2.events.TrailersReceived) and st is not None:
            st["trailers"] = list(ev.headers)
        elif isinstance(ev, h2.events.StreamEnded) and st is not None:
            st["ended"] = True
        elif isinstance(ev, h2.events.StreamReset) and st is not None:
            st["reset"] = ev.error_code
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.terminated = ev
        elif isinstance(ev, h2.events.RemoteSettingsChanged):
            self.remote_settings_seen = True

    def wait(self, sids, timeout=30.0):
        """Pumps until every stream in sids ended or was reset (or the connection closed)."""
        deadline = time.monotonic() + timeout
        while not self.closed and getattr(self, "protocol_error", None) is None and not all(
                self.streams[s]["ended"] or self.streams[s]["reset"] is not None for s in sids):
            self.pump_once(deadline)
        return [self.response(s) for s in sids]

    def wait_closed(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        try:
            while not self.closed:
                self.pump_once(deadline)
        except socket.timeout:
            pass
        return self.closed

    def response(self, sid):
        st = self.streams[sid]
        return dict(st, body=b"".join(st["body"]))

    def get(self, path, timeout=30.0, **kw):
        return self.wait([self.request(path, **kw)], timeout)[0]

    def close(self):
        try:
            self.conn.close_connection()
            self.flush()
        except Exception:      # noqa: BLE001  (closing a broken connection)
            pass
        self.sock.close()


def header(resp, name):
    for k, v in resp["headers"]:
        if k.lower() == name:
            return v
    return None


# ---------------------------------------------------------------- config

def extra_listeners(transparent_port, h2c_port, proxy_ca, proxy_ca_key, origin_ca, access_log):
    q = harness.json.dumps
    router_tls = "{ connect_timeout: 2s, response_timeout: 5s, upstream_tls: { ca_file: %s } }" % q(origin_ca)
    return "\n".join([
        "  - name: transparent",
        "    address: 127.0.0.1:%d" % transparent_port,
        "    filter_chains:",
        "      - filters:",
        "          - name: tls_intercept",
        "            config: { cert_provider: ca, alpn: [h2, http/1.1], default_server_name: localhost }",
        "          - name: http_connection_manager",
        "            config:",
        "              codec: auto",
        "              http_filters:",
        "                - { name: access_log, config: { path: %s, format: json } }" % q(access_log),
        "                - { name: router, config: %s }" % router_tls,
        "  - name: h2c",
        "    address: 127.0.0.1:%d" % h2c_port,
        "    filter_chains:",
        "      - filters:",
        "          - name: http_connection_manager",
        "            config:",
        "              codec: auto",
        "              max_request_headers: %dKiB" % (H2C_MAX_REQUEST_HEADERS // 1024),
        "              http_filters:",
        "                - { name: access_log, config: { path: %s, format: json } }" % q(access_log),
        "                - { name: router, config: %s }" % router_tls,
    ]) + "\n"


# ---------------------------------------------------------------- tests

class Http2Base(unittest.TestCase):
    """A TLS origin (test CA) and a plain origin; one proxy per class (see the module doc)."""

    @classmethod
    def setUpClass(cls):
        cls.pki_dir = harness.tmpdir("pki")
        cls.origin_ca, cert, key = harness.make_test_pki(cls.pki_dir)
        cls.tls_origin = OriginProcess(tls_cert=cert, tls_key=key)
        try:
            cls.plain_origin = OriginProcess()
        except BaseException:
            cls.tls_origin.stop()
            raise
        cls.ca_dir = harness.tmpdir("proxyca")
        cls.proxy_ca = os.path.join(cls.ca_dir, "ca.pem")
        cls.proxy_ca_key = os.path.join(cls.ca_dir, "ca.key")
        cls.access_log = os.path.join(cls.ca_dir, "access.log")
        try:
            cls.proxy = cls.start_proxy()
        except BaseException:
            cls.tls_origin.stop()
            cls.plain_origin.stop()
            raise

    @classmethod
    def start_proxy(cls):
        ports = {}

        def config(port):
            ports["transparent"] = harness.free_port()
            ports["h2c"] = harness.free_port()
            return harness.intercept_config(
                port, cls.proxy_ca, cls.proxy_ca_key, upstream_ca=cls.origin_ca,
                access_log=cls.access_log, alpn=("h2", "http/1.1")) + extra_listeners(
                ports["transparent"], ports["h2c"], cls.proxy_ca, cls.proxy_ca_key,
                cls.origin_ca, cls.access_log)

        proxy = Proxy(concurrency=2, config=config)
        proxy.transparent_port = ports["transparent"]
        proxy.h2c_port = ports["h2c"]
        for p in ports.values():          # "listening on" may only name the first listener
            deadline = time.monotonic() + 5
            while not harness._port_accepts(p) and time.monotonic() < deadline:
                time.sleep(0.05)
        return proxy

    @classmethod
    def tearDownClass(cls):
        try:
            stop_and_check(cls.proxy)
        finally:
            cls.tls_origin.stop()
            cls.plain_origin.stop()

    # ---- helpers

    @property
    def tls_authority(self):
        return "localhost:%d" % self.tls_origin.port

    def https_url(self, path):
        return "https://localhost:%d%s" % (self.tls_origin.port, path)

    def curl(self, *args, **kw):
        return harness.curl(self.proxy, "--cacert", self.proxy_ca, *args, **kw)

    def curl_h2(self, path, *args, out=None, **kw):
        """curl --http2 through CONNECT; returns (CompletedProcess, http_version, http_code)."""
        fmt = "\n%{http_version} %{http_code}"
        cmd = ["--http2", "-w", fmt] + (["-o", out] if out else []) + list(args) + [self.https_url(path)]
        r = self.curl(*cmd, **kw)
        body, _, tail = r.stdout.rpartition(b"\n")
        r.body = body
        parts = tail.decode().split()
        version, code = (parts + ["", ""])[:2]
        return r, version, code

    def tls_h2_via_connect(self, proxy=None, timeout=10.0):
        """CONNECT localhost:ORIGIN, TLS with ALPN h2 verified against the proxy CA."""
        s, status, _ = harness.open_tunnel(proxy or self.proxy, "localhost", self.tls_origin.port, timeout)
        if status != 200:
            s.close()
            self.fail("CONNECT answered %d" % status)
        ctx = ssl.create_default_context(cafile=self.proxy_ca)
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        s.settimeout(timeout)
        t = ctx.wrap_socket(s, server_hostname="localhost")
        self.assertEqual(t.selected_alpn_protocol(), "h2", "the proxy did not pick h2 by ALPN")
        return t

    def tls_h2_transparent(self, timeout=10.0):
        s = socket.create_connection(("127.0.0.1", self.proxy.transparent_port), timeout=timeout)
        ctx = ssl.create_default_context(cafile=self.proxy_ca)
        ctx.set_alpn_protocols(["h2"])
        t = ctx.wrap_socket(s, server_hostname="localhost")
        self.assertEqual(t.selected_alpn_protocol(), "h2")
        return t

    def h2_client(self, proxy=None, keep_raw=False):
        return H2Client(self.tls_h2_via_connect(proxy), self.tls_authority, keep_raw=keep_raw)

    def h2c_client(self, keep_raw=False):
        s = socket.create_connection(("127.0.0.1", self.proxy.h2c_port), timeout=10)
        return H2Client(s, self.plain_origin.authority, scheme="http", keep_raw=keep_raw)

    def assertProxyAlive(self):
        self.assertTrue(self.proxy.alive(), "proxy died:\n%s" % self.proxy.log()[-3000:])

    def assertStillServing(self, bystanders=()):
        """The proxy lives, connections opened before the bad input still work, and a
        fresh h2 request and a fresh HTTP/1.1 request work."""
        self.assertProxyAlive()
        for c in bystanders:
            r = c.get("/echo?bystander=1", timeout=10)
            self.assertEqual(r["status"], 200, "a bystander connection broke: %r / %r"
                             % (r, c.terminated))
        r, version, code = self.curl_h2("/status/200")
        self.assertEqual((version, code), ("2", "200"), "fresh h2 request: %r" % r.stderr)
        r = self.curl("--http1.1", "-o", "/dev/null", "-w", "%{http_code}", self.https_url("/status/200"))
        self.assertEqual(r.stdout, b"200", "fresh HTTP/1.1 request: %r" % r.stderr)

    def bystanders(self):
        """An h2 connection through CONNECT and an h2c one, each having answered a request."""
        out = []
        for make in (self.h2_client, self.h2c_client):
            c = make()
            self.assertEqual(c.get("/status/200")["status"], 200)
            out.append(c)
        return out


class Http2CurlTest(Http2Base):

    def test_get_negotiates_h2_and_origin_sees_http11(self):
        r, version, code = self.curl_h2("/echo?q=1", "-H", "X-Test-H2: yes",
                                        "-H", "Cookie: a=1", "-H", "Cookie: b=2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(version, "2", "curl did not negotiate HTTP/2 with the proxy")
        self.assertEqual(code, "200")
        echo = harness.json.loads(r.body)
        self.assertEqual(echo["method"], "GET")
        self.assertEqual(echo["target"], "/echo?q=1")
        self.assertEqual(echo["version"], "HTTP/1.1")
        names = [k.lower() for k, _ in echo["headers"]]
        hdrs = {k.lower(): v for k, v in echo["headers"]}
        self.assertEqual(hdrs.get("host"), self.tls_authority)
        self.assertEqual(hdrs.get("x-test-h2"), "yes")
        self.assertEqual(hdrs.get("user-agent", "").split("/")[0], "curl")
        self.assertFalse([n for n in names if n.startswith(":")], "pseudo-headers forwarded: %r" % names)
        self.assertEqual(names.count("host"), 1, names)
        # Two cookie fields are joined for HTTP/1.1 (RFC 9113 8.2.3).
        self.assertEqual(hdrs.get("cookie"), "a=1; b=2", echo["headers"])

    def test_post_body_sha256(self):
        body = os.urandom(3 * MIB + 123)
        path = os.path.join(harness.tmpdir("post"), "body")
        with open(path, "wb") as f:
            f.write(body)
        r, version, code = self.curl_h2("/echo", "--data-binary", "@" + path,
                                        "-H", "Content-Type: application/octet-stream")
        self.assertEqual((r.returncode, version, code), (0, "2", "200"), r.stderr)
        echo = harness.json.loads(r.body)
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(echo["body_length"], len(body))
        self.assertEqual(echo["body_sha256"], sha256(body))

    def test_expect_100_continue_is_answered_by_the_proxy(self):
        # curl waits up to --expect100-timeout for a 100 before sending the body; the proxy
        # answers it at once and does not forward Expect to the origin.
        path = os.path.join(harness.tmpdir("expect"), "body")
        with open(path, "wb") as f:
            f.write(b"x" * 200000)
        start = time.monotonic()
        r, version, code = self.curl_h2("/echo", "--data-binary", "@" + path, "-H", "Expect: 100-continue",
                                        "--expect100-timeout", "5")
        elapsed = time.monotonic() - start
        self.assertEqual((r.returncode, version, code), (0, "2", "200"), r.stderr)
        echo = harness.json.loads(r.body)
        self.assertEqual(echo["body_length"], 200000)
        self.assertNotIn("expect", [k.lower() for k, _ in echo["headers"]])
        self.assertLess(elapsed, 4, "the client waited for a 100 Continue that never came")

    def test_head(self):
        r, version, code = self.curl_h2("/bytes?n=12345", "-I")
        self.assertEqual((r.returncode, version, code), (0, "2", "200"), r.stderr)
        self.assertIn(b"content-length: 12345", r.body.lower())
        self.assertEqual(self.tls_origin.stats()["targets"][-1], "/bytes?n=12345")

    def test_204(self):
        r, version, code = self.curl_h2("/status/204")
        self.assertEqual((r.returncode, version, code), (0, "2", "204"), r.stderr)
        self.assertEqual(r.body, b"")

    def test_chunked_response_arrives_whole(self):
        n = 5 * MIB + 7
        out = os.path.join(harness.tmpdir("chunked"), "out")
        r, version, code = self.curl_h2("/bytes?n=%d&chunked=1" % n, out=out)
        self.assertEqual((r.returncode, version, code), (0, "2", "200"), r.stderr)
        with open(out, "rb") as f:
            got = f.read()
        self.assertEqual(len(got), n)
        self.assertEqual(sha256(got), origin_mod.pattern_sha256(n))

    def test_h1_client_still_gets_http11(self):
        r = self.curl("--http1.1", "-w", "\n%{http_version}", self.https_url("/echo?h1=1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.endswith(b"\n1.1"), r.stdout[-100:])

    def test_transparent_curl_connect_to(self):
        # TLS straight to the proxy (SNI localhost), :authority names the origin.
        r = subprocess.run(
            ["curl", "-sS", "--noproxy", "*", "--http2", "--cacert", self.proxy_ca, "--max-time", "20",
             "--connect-to", "localhost:%d:127.0.0.1:%d" % (self.tls_origin.port, self.proxy.transparent_port),
             "-w", "\n%{http_version}", self.https_url("/echo?transparent=curl")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, env=harness.clean_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        body, _, version = r.stdout.rpartition(b"\n")
        self.assertEqual(version, b"2")
        self.assertEqual(harness.json.loads(body)["target"], "/echo?transparent=curl")

    def test_h2c_prior_knowledge_curl(self):
        r = subprocess.run(
            ["curl", "-sS", "--noproxy", "*", "--http2-prior-knowledge", "--max-time", "20",
             "--connect-to", "127.0.0.1:%d:127.0.0.1:%d" % (self.plain_origin.port, self.proxy.h2c_port),
             "-w", "\n%{http_version}", self.plain_origin.url("/echo?h2c=curl")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, env=harness.clean_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        body, _, version = r.stdout.rpartition(b"\n")
        self.assertEqual(version, b"2")
        echo = harness.json.loads(body)
        self.assertEqual(echo["target"], "/echo?h2c=curl")
        self.assertEqual(dict((k.lower(), v) for k, v in echo["headers"])["host"],
                         self.plain_origin.authority)

    def test_h1_and_h2_clients_at_once(self):
        n = 8 * MIB

        def h1():
            out = os.path.join(harness.tmpdir("both"), "h1")
            r = self.curl("--http1.1", "-o", out, "-w", "%{http_version} %{http_code}",
                          self.https_url("/bytes?n=%d" % n))
            with open(out, "rb") as f:
                return r.stdout, sha256(f.read())

        def h2_():
            out = os.path.join(harness.tmpdir("both"), "h2")
            r, version, code = self.curl_h2("/bytes?n=%d" % n, out=out)
            with open(out, "rb") as f:
                return ("%s %s" % (version, code)).encode(), sha256(f.read())

        def slow(kind):
            flag = "--http1.1" if kind == 1 else "--http2"
            r = self.curl(flag, "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                          self.https_url("/delay?ms=300"))
            return r.stdout, None

        want = origin_mod.pattern_sha256(n)
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            futs = [ex.submit(h1), ex.submit(h2_), ex.submit(slow, 1), ex.submit(slow, 2)]
            res = [f.result(timeout=60) for f in futs]
        self.assertEqual(res[0], (b"1.1 200", want))
        self.assertEqual(res[1], (b"2 200", want))
        self.assertEqual(res[2][0], b"1.1 200")
        self.assertEqual(res[3][0], b"2 200")


@harness.needs(shutil.which("nghttp"), "nghttp is missing (Debian package nghttp2-client)")
class Http2NghttpTest(Http2Base):

    def nghttp(self, *args, timeout=30):
        return subprocess.run(["nghttp", "-t", "20"] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, env=harness.clean_env())

    def test_transparent_tls(self):
        url = "https://127.0.0.1:%d/echo?via=nghttp" % self.proxy.transparent_port
        r = self.nghttp("-H", ":authority: %s" % self.tls_authority, url)
        self.assertEqual(r.returncode, 0, r.stderr)
        echo = harness.json.loads(r.stdout)
        self.assertEqual(echo["target"], "/echo?via=nghttp")
        self.assertEqual(echo["version"], "HTTP/1.1")
        self.assertEqual(dict((k.lower(), v) for k, v in echo["headers"])["host"], self.tls_authority)

    def test_h2c_prior_knowledge(self):
        url = "http://127.0.0.1:%d/echo?via=nghttp-h2c" % self.proxy.h2c_port
        r = self.nghttp("-H", ":authority: %s" % self.plain_origin.authority, url)
        self.assertEqual(r.returncode, 0, r.stderr)
        echo = harness.json.loads(r.stdout)
        self.assertEqual(echo["target"], "/echo?via=nghttp-h2c")

    def test_multiply_100_streams(self):
        # nghttp -m 100: one connection, 100 concurrent streams, 64 KiB each.
        url = "https://127.0.0.1:%d/bytes?n=65536" % self.proxy.transparent_port
        r = self.nghttp("-n", "-s", "-m", "100", "-H", ":authority: %s" % self.tls_authority, url,
                        timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        done = [l for l in r.stdout.decode().splitlines() if "/bytes?n=65536" in l]
        self.assertEqual(len(done), 100, r.stdout.decode()[-2000:])


@need_h2
class Http2StreamsTest(Http2Base):

    def test_100_concurrent_streams_1mib_each(self):
        # A fresh proxy so that its peak RSS belongs to this test alone.
        proxy = self.start_proxy()
        try:
            c = self.h2_client(proxy)
            # Wait for the proxy's SETTINGS (MAX_CONCURRENT_STREAMS 100).
            c.get("/status/200")
            self.assertEqual(c.conn.remote_settings.max_concurrent_streams, 100)
            base = proxy.memory_kib()["VmRSS"]
            with harness.RssSampler(proxy) as rss:
                t0 = time.monotonic()
                sids = [c.request("/bytes?n=%d&i=%d" % (MIB, i)) for i in range(100)]
                resps = c.wait(sids, timeout=120)
                elapsed = time.monotonic() - t0
            want = origin_mod.pattern_sha256(MIB)
            bad = [(i, r["status"], len(r["body"]), r["reset"]) for i, r in enumerate(resps)
                   if r["status"] != 200 or sha256(r["body"]) != want]
            self.assertFalse(bad, "streams with a wrong answer (index, status, length, reset): %r" % bad[:10])
            hwm = proxy.memory_kib()["VmHWM"]
            print("\n    100 x 1 MiB over one h2 connection: %.2fs, proxy RSS before %.1f MiB, "
                  "peak sampled %.1f MiB, VmHWM %.1f MiB" % (elapsed, base / 1024.0, rss.peak_rss / 1024.0,
                                                              hwm / 1024.0), flush=True)
            self.assertLess(hwm, 192 * 1024, "proxy VmHWM %d KiB for 100 MiB of responses" % hwm)
            # Still usable afterwards.
            self.assertEqual(c.get("/echo?after=1")["status"], 200)
            c.close()
        finally:
            stop_and_check(proxy)

    def test_zero_window_client_cannot_pin_unbounded_memory(self):
        # SETTINGS_INITIAL_WINDOW_SIZE 0 and 100 large responses: each stream's buffer used to
        # fill to its limit (about 1.3 MiB a stream, 130 MiB a connection). The connection's
        # streams now share a budget of four buffer limits; past it every origin is paused.
        proxy = self.start_proxy()
        try:
            s = socket.create_connection(("127.0.0.1", proxy.h2c_port), timeout=10)
            c = H2Client(s, self.plain_origin.authority, scheme="http", window=0)
            base = proxy.memory_kib()["VmRSS"]
            for i in range(100):
                c.request("/bytes?n=%d&zw=%d" % (8 * MIB, i))
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline:  # let the proxy fill what it will
                try:
                    c.pump_once(time.monotonic() + 0.2)
                except socket.timeout:
                    pass
            grown = proxy.memory_kib()["VmRSS"] - base
            # Others are served meanwhile.
            canary = self.h2c_client_for(proxy)
            self.assertEqual(canary.get("/status/200")["status"], 200)
            canary.close()
            c.close()
            print("\n    zero-window client, 100 x 8 MiB: proxy RSS grew %.1f MiB" % (grown / 1024.0), flush=True)
            self.assertLess(grown, 48 * 1024, "RSS grew %d KiB for one zero-window connection" % grown)
        finally:
            stop_and_check(proxy)

    def test_streams_the_client_reads_go_on_while_others_are_stalled(self):
        # Over the connection's budget only streams holding bytes pause: a stream the client
        # reads (its own window opened) still completes on the same connection, while 60
        # others wait at window 0.
        proxy = self.start_proxy()
        try:
            s = socket.create_connection(("127.0.0.1", proxy.h2c_port), timeout=10)
            c = H2Client(s, self.plain_origin.authority, scheme="http", window=0)
            for i in range(60):
                c.request("/bytes?n=%d&stalled=%d" % (8 * MIB, i))
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:  # the budget fills up
                try:
                    c.pump_once(time.monotonic() + 0.2)
                except socket.timeout:
                    pass
            sid = c.request("/bytes?n=%d&read=1" % MIB)
            c.conn.increment_flow_control_window(2 * MIB, stream_id=sid)
            c.flush()
            r = c.wait([sid], timeout=20)[0]
            self.assertEqual((r["status"], len(r["body"])), (200, MIB))
            c.close()
        finally:
            stop_and_check(proxy)

    def h2c_client_for(self, proxy):
        s = socket.create_connection(("127.0.0.1", proxy.h2c_port), timeout=10)
        return H2Client(s, self.plain_origin.authority, scheme="http")

    def test_post_without_content_length(self):
        c = self.h2_client()
        try:
            body = os.urandom(2 * MIB + 5)
            sid = c.request("/echo?nocl=1", method="POST", body=body, content_length=False)
            r = c.wait([sid])[0]
            self.assertEqual(r["status"], 200, r)
            echo = harness.json.loads(r["body"])
            self.assertEqual(echo["body_length"], len(body))
            self.assertEqual(echo["body_sha256"], sha256(body))
        finally:
            c.close()

    def test_transparent_python_h2(self):
        c = H2Client(self.tls_h2_transparent(), self.tls_authority)
        try:
            r = c.get("/echo?transparent=py")
            self.assertEqual(r["status"], 200)
            self.assertEqual(harness.json.loads(r["body"])["target"], "/echo?transparent=py")
        finally:
            c.close()

    def test_host_field_instead_of_authority(self):
        # RFC 9113 8.3.1: a request may name its origin with Host instead of :authority.
        c = H2Client(self.tls_h2_transparent(), self.tls_authority)
        try:
            sid = c.conn.get_next_available_stream_id()
            c.streams[sid] = {"status": None, "headers": [], "body": [], "ended": False,
                              "reset": None, "trailers": None}
            c.conn.send_headers(sid, [(":method", "GET"), (":scheme", "https"), (":path", "/echo?hostonly=1"),
                                      ("host", self.tls_authority)], end_stream=True)
            c.flush()
            r = c.wait([sid])[0]
            self.assertEqual(r["status"], 200, r)
            echo = harness.json.loads(r["body"])
            self.assertEqual(echo["target"], "/echo?hostonly=1")
            hosts = [v for k, v in echo["headers"] if k.lower() == "host"]
            self.assertEqual(hosts, [self.tls_authority])
        finally:
            c.close()

    def test_response_headers_are_h2_clean(self):
        c = self.h2_client()
        try:
            r = c.get("/echo?resp_hop=1&resp_dup=1")
            self.assertEqual(r["status"], 200)
            names = [k.lower() for k, _ in r["headers"]]
            for hop in ("connection", "keep-alive", "transfer-encoding"):
                self.assertNotIn(hop, names)
            self.assertEqual(names.count("set-cookie"), 2, r["headers"])
        finally:
            c.close()


@harness.needs(HAVE_HTTPX, harness.HTTPX_MISSING)
class Http2HttpxTest(Http2Base):

    @need_h2  # httpx needs h2 for http2=True
    def test_httpx_http2(self):
        with httpx.Client(http2=True, proxies="http://" + self.proxy.address, verify=self.proxy_ca,
                          timeout=20, trust_env=False) as client:
            r = client.get(self.https_url("/echo?httpx=1"))
            self.assertEqual(r.status_code, 200)
            self.assertEqual(r.http_version, "HTTP/2")
            self.assertEqual(r.json()["target"], "/echo?httpx=1")
            body = os.urandom(300000)
            r = client.post(self.https_url("/echo?httpx=2"), content=body)
            self.assertEqual(r.http_version, "HTTP/2")
            self.assertEqual(r.json()["body_sha256"], sha256(body))
            r = client.get(self.https_url("/bytes?n=%d" % (2 * MIB)))
            self.assertEqual(sha256(r.content), origin_mod.pattern_sha256(2 * MIB))


@need_h2
class Http2BadInputTest(Http2Base):
    """Each bad connection is closed; the others and the proxy keep working."""

    def setUp(self):
        self.others = self.bystanders()

    def tearDown(self):
        for c in self.others:
            c.close()

    def test_garbage_after_preface_h2c(self):
        s = socket.create_connection(("127.0.0.1", self.proxy.h2c_port), timeout=10)
        s.sendall(PREFACE + b"this is not an HTTP/2 frame at all\r\n" * 20)
        closed, data = read_until_closed(s)
        s.close()
        self.assertTrue(closed, "the proxy kept a connection that sent garbage after the preface")
        codes = goaway_codes(data)
        self.assertTrue(codes, "no GOAWAY before the close; got %r" % data[:200])
        self.assertNotEqual(codes[-1], 0, "GOAWAY with NO_ERROR for garbage")
        self.assertStillServing(self.others)

    def test_data_on_stream_0(self):
        t = self.tls_h2_via_connect()
        t.sendall(PREFACE + frame(4, 0, 0) + frame(0, 0, 0, b"hello"))
        closed, data = read_until_closed(t)
        t.close()
        self.assertTrue(closed, "connection kept open after DATA on stream 0")
        self.assertIn(PROTOCOL_ERROR, goaway_codes(data), "expected GOAWAY PROTOCOL_ERROR; got %r"
                      % parse_frames(data))
        self.assertStillServing(self.others)

    def test_rapid_reset(self):
        # Open and cancel streams as fast as possible (CVE-2023-44487): more than 200
        # RST_STREAM a second must end the connection with GOAWAY ENHANCE_YOUR_CALM.
        c = self.h2_client(keep_raw=True)
        c.get("/status/200")
        sent = 0
        t0 = time.monotonic()
        for _ in range(1000):
            if c.closed or c.send_failed or c.goaway_codes():
                break
            try:
                sid = c.request("/echo?rapid=1")
                c.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            except h2.exceptions.ProtocolError:
                break                 # h2 refuses new streams after a GOAWAY
            sent += 1
            if sent % 25 == 0:
                c.flush()
                c.poll(0)             # read as we go: a GOAWAY is not lost to a later RST
        c.flush()
        burst = time.monotonic() - t0
        c.wait_closed(5)
        codes = c.goaway_codes()
        c.close()
        self.assertIn(ENHANCE_YOUR_CALM, codes,
                      "after %d open+reset pairs in %.2fs: GOAWAY codes %r, closed %s, send error %r"
                      % (sent, burst, codes, c.closed, c.send_failed))
        self.assertLess(sent, 1000, "the proxy took all 1000 resets")
        self.assertTrue(c.closed, "the proxy kept the rapid-reset connection open")
        self.assertStillServing(self.others)

    def test_oversized_header_value_h2c(self):
        # 24 KiB value > max_request_headers 16 KiB on the h2c listener (below HPACK's limits).
        c = self.h2c_client()
        c.get("/status/200")
        sid = c.request("/echo?big=1", headers=[("x-big", "a" * (24 * 1024))])
        try:
            r = c.wait([sid], timeout=10)[0]
        except socket.timeout:
            self.fail("no answer to an oversized header block within 10 s")
        outcome = ("reset %r" % r["reset"]) if r["reset"] is not None else \
            ("connection error %r" % (c.terminated and c.terminated.error_code)) if c.closed else \
            ("status %r" % r["status"])
        self.assertTrue(r["reset"] is not None or c.closed or r["status"] == 431,
                        "oversized header block was answered: %s" % outcome)
        self.assertNotIn("/echo?big=1", self.plain_origin.stats()["targets"],
                         "the oversized request reached the origin")
        print("\n    24 KiB header value on h2c (limit 16 KiB): %s" % outcome, flush=True)
        if not c.closed:
            # A stream-level refusal leaves the connection usable.
            self.assertEqual(c.get("/echo?after-big=1")["status"], 200)
        c.close()
        self.assertStillServing(self.others)

    def test_oversized_header_value_tls(self):
        # 100 KiB > max_request_headers (64 KiB) through CONNECT + TLS.
        c = self.h2_client(keep_raw=True)
        c.get("/status/200")
        sid = c.request("/echo?huge=1", headers=[("x-big", "b" * (100 * 1024))])
        try:
            c.wait([sid], timeout=10)
        except socket.timeout:
            self.fail("no answer to a 100 KiB header value within 10 s")
        r = c.response(sid)
        if r["reset"] is None and r["status"] is None:
            c.wait_closed(5)
        outcome = "status %r, reset %r, GOAWAY %r, closed %s, send error %r" % (
            r["status"], r["reset"], c.goaway_codes(), c.closed, c.send_failed)
        c.close()
        self.assertTrue(r["reset"] is not None or c.closed or r["status"] == 431,
                        "100 KiB header value: %s" % outcome)
        self.assertNotIn("/echo?huge=1", self.tls_origin.stats()["targets"], outcome)
        print("\n    100 KiB header value over TLS: %s" % outcome, flush=True)
        self.assertStillServing(self.others)

    def test_1000_tiny_headers(self):
        c = self.h2_client(keep_raw=True)
        c.get("/status/200")
        sid = c.request("/echo?many=1", headers=[("x-h%d" % i, "v") for i in range(1000)])
        try:
            c.wait([sid], timeout=10)
        except socket.timeout:
            pass
        closed = c.wait_closed(5)
        r = c.response(sid)
        outcome = "status %r, reset %r, GOAWAY %r, closed %s" % (
            r["status"], r["reset"], c.goaway_codes(), closed)
        c.close()
        self.assertTrue(closed, "1000 header fields: connection not closed (%s)" % outcome)
        self.assertIsNone(r["status"], "1000 header fields were answered: %s" % outcome)
        self.assertNotIn("/echo?many=1", self.tls_origin.stats()["targets"])
        self.assertTrue(c.goaway_codes() and c.goaway_codes()[-1] != 0,
                        "closed without a GOAWAY carrying an error: %s" % outcome)
        self.assertStillServing(self.others)


class Http2AccessLogTest(Http2Base):

    @need_h2  # the h2c client
    def test_access_log_protocol(self):
        r, version, _ = self.curl_h2("/echo?log=h2curl")
        self.assertEqual(version, "2")
        r = self.curl("--http1.1", "-o", "/dev/null", self.https_url("/echo?log=h1curl"))
        self.assertEqual(r.returncode, 0)
        got = {}
        c = self.h2c_client()
        self.assertEqual(c.get("/echo?log=h2c")["status"], 200)
        c.close()
        want = {"/echo?log=h2curl": "HTTP/2", "/echo?log=h1curl": "HTTP/1.1",
                "/echo?log=h2c": "HTTP/2"}
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            rows = harness.read_json_lines(self.access_log, timeout=0.2, at_least=1)
            got = {row.get("path"): row for row in rows if row.get("path") in want}
            if len(got) == len(want):
                break
            time.sleep(0.1)
        self.assertEqual({p: got[p].get("protocol") for p in got}, want)
        for p in want:
            self.assertEqual(got[p]["response_code"], 200)
            self.assertEqual(got[p]["method"], "GET")


class Http2DrainTest(Http2Base):

    def test_sigterm_with_stream_in_flight(self):
        # curl, not python h2: h2 4.1 treats the connection as dead once a GOAWAY
        # arrives, and would drop the in-flight response that a graceful GOAWAY allows.
        proxy = self.start_proxy()
        out = {}

        def fetch():
            r = harness.curl(proxy, "--cacert", self.proxy_ca, "--http2",
                             "-w", "\n%{http_version} %{http_code}", self.https_url("/delay?ms=1000"))
            out["r"] = r

        t = threading.Thread(target=fetch)
        try:
            t.start()
            deadline = time.monotonic() + 5     # until the request is at the origin
            while "/delay?ms=1000" not in self.tls_origin.stats()["targets"][-3:]:
                self.assertLess(time.monotonic(), deadline, "request never reached the origin")
                time.sleep(0.02)
            time.sleep(0.1)
            proxy.proc.send_signal(signal.SIGTERM)
            t.join(20)
            try:
                rc = proxy.proc.wait(harness.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                rc = "still running"
        finally:
            proxy.kill()
        r = out.get("r")
        self.assertIsNotNone(r, "curl did not finish")
        body, _, tail = r.stdout.rpartition(b"\n")
        self.assertEqual(tail, b"2 200", "in-flight h2 stream during drain: %r %r" % (r.stdout, r.stderr))
        self.assertEqual(body, b"delayed 1000 ms\n")
        self.assertEqual(rc, 0, "exit code after SIGTERM: %r\n%s" % (rc, proxy.log()[-3000:]))

    @need_h2
    def test_sigterm_goaway_no_error_last_stream(self):
        # The drain GOAWAY is graceful (NO_ERROR) and names the in-flight stream as
        # processed; the response arrives after it (read from the raw frames).
        proxy = self.start_proxy()
        try:
            c = self.h2_client(proxy, keep_raw=True)
            self.assertEqual(c.get("/status/200")["status"], 200)
            sid = c.request("/delay?ms=1000")
            time.sleep(0.3)
            proxy.proc.send_signal(signal.SIGTERM)
            c.wait_closed(10)
            frames = parse_frames(c.raw)
            goaways = [(int.from_bytes(p[:4], "big") & 0x7FFFFFFF, int.from_bytes(p[4:8], "big"))
                       for t, _, _, p in frames if t == 7]
            self.assertTrue(goaways, "no GOAWAY on drain")
            self.assertEqual(goaways[0], (sid, 0), "drain GOAWAY (last_stream_id, code)")
            ends = [f for f in frames if f[2] == sid and f[0] in (0, 1) and f[1] & 1]
            self.assertTrue(ends, "stream %d never ended during the drain: frames %r"
                            % (sid, [(t, fl, i) for t, fl, i, _ in frames]))
            c.close()
        finally:
            rc = proxy.stop()
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    harness.main()
