#!/usr/bin/env python3
"""HTTP/1.1 forward-proxy behaviour: request forms, bodies, keep-alive and
pooling, pipelining, 100-continue, hop-by-hop headers, bodiless responses,
and a third-party client (httpx)."""

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time

import harness
from harness import OriginProcess, read_response, SocketReader, connect, send_and_read

ODD_QUERY = "?a=1&b=%20x&c=%2F;d&e=~!$'()*+,&f=%7e%7E&g=&&h=a=b=c&i=%C3%A9"


class ClosingOrigin:
    """A raw HTTP/1.1 origin that answers only the first request on each connection
    (keep-alive, JSON {"connection": index, "target": target}) and hangs up unanswered on
    any later one, and on any request for /never. heads: the request targets read on
    each connection, in accept order."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.heads = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                index = len(self.heads)
                self.heads.append([])
            threading.Thread(target=self._serve, args=(sock, index), daemon=True).start()

    def _serve(self, sock, index):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                target = head.split(b" ")[1].decode("latin-1")
                with self.lock:
                    self.heads[index].append(target)
                    first = len(self.heads[index]) == 1
                if not first or target == "/never":
                    return                      # hang up without answering
                body = json.dumps({"connection": index, "target": target}).encode()
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
        except OSError:
            pass
        finally:
            sock.close()

    def close(self):
        self.listener.close()


class Http1ProxyTest(harness.ProxyTestCase):

    def echo_via_curl(self, path, *extra):
        r = self.curl("--path-as-is", "-g", *extra, self.origin.url(path))
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_logs_listening(self):
        self.assertIn("listening on", self.proxy.log())

    def test_absolute_form_get_preserves_query_bytes(self):
        # curl -x sends absolute-form; the origin must get origin-form with the
        # path and query exactly as the client wrote them (no re-encoding).
        echo = self.echo_via_curl("/echo" + ODD_QUERY)
        self.assertEqual(echo["method"], "GET")
        self.assertEqual(echo["target"], "/echo" + ODD_QUERY)
        hosts = [v for k, v in echo["headers"] if k.lower() == "host"]
        self.assertEqual(hosts, [self.origin.authority])

    def test_absolute_form_raw_socket(self):
        req = ("GET http://%s/echo%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
               % (self.origin.authority, ODD_QUERY, self.origin.authority)).encode()
        resp, reader = send_and_read(self.proxy, req)
        reader.sock.close()
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["target"], "/echo" + ODD_QUERY)

    def test_origin_form_with_host(self):
        # A request line without scheme/authority: the proxy routes on Host.
        req = ("GET /echo?origin-form=1 HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
               % self.origin.authority).encode()
        resp, reader = send_and_read(self.proxy, req)
        reader.sock.close()
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["target"], "/echo?origin-form=1")

    def test_post_content_length(self):
        body = os.urandom(300 * 1024)
        r = self.curl("--data-binary", "@-", "-H", "Content-Type: application/octet-stream",
                      self.origin.url("/echo?post=cl"), input_bytes=body)
        self.assertEqual(r.returncode, 0, r.stderr)
        echo = json.loads(r.stdout)
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(echo["body_length"], len(body))
        self.assertEqual(echo["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_post_chunked(self):
        body = os.urandom(1024 * 1024 + 17)
        path = os.path.join(harness.tmpdir("body"), "body.bin")
        with open(path, "wb") as f:
            f.write(body)
        echo = self.echo_via_curl("/echo?post=chunked", "-H", "Transfer-Encoding: chunked",
                                  "--data-binary", "@" + path)
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(echo["body_length"], len(body))
        self.assertEqual(echo["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_chunked_response(self):
        n = 3 * 64 * 1024 + 5
        r = self.curl(self.origin.url("/bytes?n=%d&chunked=1" % n))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout), n)
        self.assertEqual(hashlib.sha256(r.stdout).hexdigest(), harness.origin_mod.pattern_sha256(n))

    def test_head(self):
        r = self.curl("-I", self.origin.url("/bytes?n=5000"))
        self.assertEqual(r.returncode, 0, r.stderr)
        head = r.stdout.decode("latin-1").lower()
        self.assertIn("200", head.splitlines()[0])
        self.assertIn("content-length: 5000", head)

    def test_bodiless_responses_keep_connection_in_sync(self):
        # 204, 304 and HEAD carry no body; if the proxy waited for one or sent
        # stray bytes, the next response on the same connection would break.
        s = connect(self.proxy)
        reader = SocketReader(s)
        a = self.origin.authority
        plan = [("GET", "/status/204"), ("GET", "/status/304"), ("GET", "/status/304?cl=100"),
                ("HEAD", "/bytes?n=5000"),
                ("HEAD", "/bytes?n=7000&chunked=1"), ("GET", "/echo?after=1")]
        try:
            for method, path in plan:
                s.sendall(("%s http://%s%s HTTP/1.1\r\nHost: %s\r\n\r\n"
                           % (method, a, path, a)).encode())
                resp = read_response(reader, head_request=(method == "HEAD"))
                if not path.startswith("/echo"):
                    self.assertEqual(resp.body, b"", (method, path, resp))
                if path == "/status/204":
                    self.assertEqual(resp.status, 204)
                elif path.startswith("/status/304"):
                    self.assertEqual(resp.status, 304)
                elif path == "/bytes?n=5000":
                    self.assertEqual(resp.header("Content-Length"), "5000", resp)
                elif path.startswith("/echo"):
                    self.assertEqual(resp.status, 200, resp)
                    self.assertEqual(resp.json()["target"], "/echo?after=1")
            # Nothing may follow the last response.
            s.settimeout(0.3)
            try:
                extra = s.recv(100)
            except OSError:
                extra = b""
            self.assertEqual(reader.buf + extra, b"")
        finally:
            s.close()

    def test_keepalive_and_upstream_pooling(self):
        # A fresh origin so its connection count starts at zero: 10 sequential
        # requests from one curl (one client connection) must reuse one
        # upstream connection.
        origin = OriginProcess()
        try:
            urls = [origin.url("/echo?i=%d" % i) for i in range(10)]
            args = []
            for u in urls:
                args += ["-o", "/dev/null", u]
            r = self.curl("-w", "%{http_code} %{num_connects}\n", *args)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stdout.decode().split()
            codes, connects = lines[0::2], lines[1::2]
            self.assertEqual(codes, ["200"] * 10)
            # curl opened one connection to the proxy and reused it.
            self.assertEqual(connects, ["1"] + ["0"] * 9, "client side not kept alive")
            stats = origin.stats()
            self.assertEqual(stats["requests"], 10)
            self.assertEqual(stats["connections"], 1,
                             "upstream connections not pooled: %r" % stats)
            # Later client connections reuse pooled upstream connections too.
            # Pools may be per worker thread, so allow one per worker
            # (the harness runs --concurrency 2), but no more.
            for i in range(6):
                r = self.curl("-o", "/dev/null", "-w", "%{http_code}",
                              origin.url("/echo?again=%d" % i))
                self.assertEqual(r.stdout, b"200")
            stats = origin.stats()
            self.assertLessEqual(stats["connections"], 2,
                                 "6 sequential clients opened %d upstream connections"
                                 % stats["connections"])
        finally:
            origin.stop()

    def test_pipelined_requests_answered_in_order(self):
        a = self.origin.authority
        # The first request is the slowest, so an out-of-order proxy would
        # answer the second or third first.
        reqs = [
            "GET http://%s/delay?ms=300 HTTP/1.1\r\nHost: %s\r\n\r\n" % (a, a),
            "POST http://%s/echo?p=2 HTTP/1.1\r\nHost: %s\r\nContent-Length: 5\r\n\r\nhello" % (a, a),
            "GET http://%s/echo?p=3 HTTP/1.1\r\nHost: %s\r\n\r\n" % (a, a),
        ]
        s = connect(self.proxy)
        try:
            s.sendall("".join(reqs).encode())
            reader = SocketReader(s)
            r1 = read_response(reader)
            r2 = read_response(reader)
            r3 = read_response(reader)
        finally:
            s.close()
        self.assertEqual((r1.status, r1.body), (200, b"delayed 300 ms\n"))
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual(r2.json()["target"], "/echo?p=2")
        self.assertEqual(r2.json()["body_length"], 5)
        self.assertEqual(r3.json()["target"], "/echo?p=3")

    def test_expect_100_continue(self):
        # The client withholds the body until it sees 100 Continue, which the
        # proxy must send (itself) promptly.
        a = self.origin.authority
        body = b"x" * 1000
        s = connect(self.proxy)
        try:
            s.sendall(("POST http://%s/echo?expect=1 HTTP/1.1\r\nHost: %s\r\n"
                       "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                       % (a, a, len(body))).encode())
            reader = SocketReader(s)
            interim = read_response(reader, skip_1xx=False, timeout=3)
            self.assertEqual(interim.status, 100, interim)
            s.sendall(body)
            final = read_response(reader)
        finally:
            s.close()
        self.assertEqual(final.status, 200, final)
        self.assertEqual(final.json()["body_length"], len(body))

    def test_expect_100_continue_curl(self):
        body = os.urandom(2 * 1024 * 1024)
        r = self.curl("-H", "Expect: 100-continue", "--expect100-timeout", "10",
                      "--data-binary", "@-", self.origin.url("/echo?expect=curl"),
                      input_bytes=body)
        self.assertEqual(r.returncode, 0, r.stderr)
        echo = json.loads(r.stdout)
        self.assertEqual(echo["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_hop_by_hop_request_headers_removed(self):
        a = self.origin.authority
        req = ("GET http://%s/echo?hop=1 HTTP/1.1\r\n"
               "Host: %s\r\n"
               "Connection: keep-alive, X-Drop-Me\r\n"
               "X-Drop-Me: secret\r\n"
               "Proxy-Connection: keep-alive\r\n"
               "Keep-Alive: timeout=5\r\n"
               "TE: trailers\r\n"
               "Trailer: X-Checksum\r\n"
               "Upgrade: example/1\r\n"
               "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n"
               "X-Keep-Me: yes\r\n"
               "\r\n" % (a, a)).encode()
        resp, reader = send_and_read(self.proxy, req)
        reader.sock.close()
        self.assertEqual(resp.status, 200, resp)
        names = [k.lower() for k, _ in resp.json()["headers"]]
        for hop in ("connection", "x-drop-me", "proxy-connection", "keep-alive", "te",
                    "trailer", "upgrade", "proxy-authorization"):
            self.assertNotIn(hop, names, "hop-by-hop header %r forwarded" % hop)
        self.assertIn("x-keep-me", names)

    def test_hop_by_hop_response_headers_removed(self):
        # The origin's response names X-Origin-Hop in Connection and sends
        # Keep-Alive: neither may reach the client; X-Origin-Keep must.
        r = self.curl("-D", "-", "-o", "/dev/null", self.origin.url("/echo?resp_hop=1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        names = [line.split(":")[0].strip().lower()
                 for line in r.stdout.decode("latin-1").splitlines()[1:] if ":" in line]
        self.assertIn("x-origin-keep", names)
        self.assertNotIn("x-origin-hop", names)
        self.assertNotIn("keep-alive", names)

    def test_absolute_form_overrides_host_header(self):
        # RFC 9112 3.2.2: with an absolute-form target the proxy must send the
        # target's authority as Host, not the client's (possibly lying) Host.
        a = self.origin.authority
        req = ("GET http://%s/echo?host=1 HTTP/1.1\r\nHost: other.example\r\n"
               "Connection: close\r\n\r\n" % a).encode()
        resp, reader = send_and_read(self.proxy, req)
        reader.sock.close()
        self.assertEqual(resp.status, 200, resp)
        hosts = [v for k, v in resp.json()["headers"] if k.lower() == "host"]
        self.assertEqual(hosts, [a])

    def test_repeated_headers_forwarded_in_order(self):
        a = self.origin.authority
        req = ("GET http://%s/echo?dup=1 HTTP/1.1\r\nHost: %s\r\nX-Dup: one\r\n"
               "X-Other: x\r\nX-Dup: two\r\nConnection: close\r\n\r\n" % (a, a)).encode()
        resp, reader = send_and_read(self.proxy, req)
        reader.sock.close()
        dups = [v for k, v in resp.json()["headers"] if k.lower() == "x-dup"]
        # Either kept as separate lines or combined per RFC 9110 5.3.
        self.assertIn(dups, (["one", "two"], ["one, two"], ["one,two"]))

    def test_client_connection_close_honoured(self):
        a = self.origin.authority
        req = ("GET http://%s/echo?cc=1 HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
               % (a, a)).encode()
        resp, reader = send_and_read(self.proxy, req)
        try:
            self.assertEqual(resp.status, 200, resp)
            closed, extra = harness.wait_closed(reader, timeout=3)
        finally:
            reader.sock.close()
        self.assertTrue(closed, "proxy kept the connection open after Connection: close")
        self.assertEqual(extra, b"")

    def test_http10_client(self):
        # An HTTP/1.0 client without keep-alive: the response must be
        # delimited (or closed) so the client sees the whole body, then closed.
        a = self.origin.authority
        req = ("GET http://%s/bytes?n=1000 HTTP/1.0\r\nHost: %s\r\n\r\n" % (a, a)).encode()
        resp, reader = send_and_read(self.proxy, req)
        try:
            closed, extra = harness.wait_closed(reader, timeout=3)
        finally:
            reader.sock.close()
        self.assertEqual(resp.status, 200, resp)
        self.assertNotIn("chunked", ",".join(resp.headers_named("Transfer-Encoding")).lower(),
                         "chunked sent to an HTTP/1.0 client")
        self.assertEqual(resp.body, harness.origin_mod.pattern_piece(0, 1000))
        self.assertTrue(closed, "HTTP/1.0 connection left open")

    def test_origin_closing_idle_pooled_connections(self):
        # The origin closes after each response, announced (Connection: close)
        # or silently while the connection sits idle in the pool (as an idle
        # timeout would). The proxy must not hand out the dead connection.
        # (A close that races the reuse: test_origin_closing_pooled_connections.)
        for query in ("close=1", "drop=1"):
            for i in range(3):
                r = self.curl("-o", "/dev/null", "-w", "%{http_code}",
                              self.origin.url("/echo?%s&i=%d" % (query, i)))
                self.assertEqual(r.stdout, b"200", (query, i, r))
                time.sleep(0.3)   # the silent close lands while the connection is idle

    def test_origin_closing_pooled_connections(self):
        # The origin closes a pooled keep-alive connection just as the proxy reuses it:
        # the close comes after the request went out, so the pool could not have noticed
        # (router.cc onEvent). A request without a body is retried once, on a fresh
        # connection; one with a body is not (the origin may have acted on it), and a
        # retry is not retried again.
        origin = ClosingOrigin()
        proxy = harness.Proxy(concurrency=1)   # one worker, so one upstream pool
        try:
            def send(method, path, body=b""):
                req = "%s http://127.0.0.1:%d%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (
                    method, origin.port, path, origin.port)
                if body:
                    req += "Content-Length: %d\r\n" % len(body)
                resp, reader = send_and_read(proxy, req.encode() + b"\r\n" + body)
                reader.sock.close()
                return resp

            r = send("GET", "/a")
            self.assertEqual((r.status, r.json()), (200, {"connection": 0, "target": "/a"}))
            # /b goes out on pooled connection 0, which the origin closes unanswered:
            # the proxy retries it on a fresh connection and the client never knows.
            r = send("GET", "/b")
            self.assertEqual(r.status, 200, "stale pooled connection not retried: %r" % r)
            self.assertEqual(r.json(), {"connection": 1, "target": "/b"})
            self.assertEqual(origin.heads, [["/a", "/b"], ["/b"]],
                             "/b was not sent on the reused connection, then once more")
            # A POST on the reused connection 1, closed the same way: 502, never resent.
            r = send("POST", "/c", b"x" * 100)
            self.assertEqual(r.status, 502, r)
            self.assertIn(b"closed before a response", r.body)
            self.assertEqual(origin.heads, [["/a", "/b"], ["/b", "/c"]], "a POST was resent")
            # Once only: /never is closed on the reused connection 2 and on the retry.
            self.assertEqual(send("GET", "/d").json(), {"connection": 2, "target": "/d"})
            r = send("GET", "/never")
            self.assertEqual(r.status, 502, r)
            self.assertIn(b"closed before a response", r.body)
            self.assertEqual(origin.heads[2:], [["/d", "/never"], ["/never"]],
                             "not retried exactly once")
        finally:
            harness.stop_and_check(proxy)
            origin.close()

    def test_concurrent_clients(self):
        # 8 clients x 10 requests on their own keep-alive connections at once:
        # every response must belong to its request.
        import concurrent.futures

        def client(c):
            urls = [self.origin.url("/echo?client=%d&req=%d" % (c, i)) for i in range(10)]
            args = ["-w", "\n"]
            for u in urls:
                args += [u]
            r = self.curl(*args)
            return c, r

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(client, range(8)))
        for c, r in results:
            self.assertEqual(r.returncode, 0, r.stderr)
            targets = [json.loads(l)["target"] for l in r.stdout.decode().splitlines() if l]
            self.assertEqual(targets, ["/echo?client=%d&req=%d" % (c, i) for i in range(10)])

    def test_absolute_form_without_path(self):
        # "http://host:port" and "http://host:port?q" have an empty path,
        # which becomes "/" in origin-form (RFC 9112 3.2.1).
        a = self.origin.authority
        for suffix, expected in (("", "/"), ("?x=1", "/?x=1")):
            req = ("GET http://%s%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (a, suffix, a)).encode()
            resp, reader = send_and_read(self.proxy, req)
            reader.sock.close()
            self.assertEqual(resp.status, 404, resp)      # the origin has no "/"
            self.assertEqual(self.origin.stats()["targets"][-1], expected)

    def test_long_query_preserved(self):
        query = "?" + "&".join("k%d=%%%02X%s" % (i, i % 256, "v" * 20) for i in range(400))
        self.assertGreater(len(query), 8000)
        echo = self.echo_via_curl("/echo" + query)
        self.assertEqual(echo["target"], "/echo" + query)

    def test_close_delimited_response(self):
        # An origin response with neither Content-Length nor chunked ends when
        # the origin closes; the client must still get every byte.
        n = 200 * 1024 + 3
        r = self.curl(self.origin.url("/bytes?n=%d&eof=1" % n))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout), n)
        self.assertEqual(hashlib.sha256(r.stdout).hexdigest(), harness.origin_mod.pattern_sha256(n))
        self.assertProxyServing()

    def test_chunked_response_with_trailer(self):
        # Trailers may be forwarded or dropped, but the body must be intact and
        # the connection usable afterwards.
        a = self.origin.authority
        n = 70000
        s = connect(self.proxy)
        try:
            reader = SocketReader(s)
            s.sendall(("GET http://%s/bytes?n=%d&chunked=1&trailer=1 HTTP/1.1\r\nHost: %s\r\n\r\n"
                       % (a, n, a)).encode())
            resp = read_response(reader)
            self.assertEqual(resp.body, b"".join(harness.origin_mod.pattern_iter(n)))
            s.sendall(("GET http://%s/echo?after-trailer HTTP/1.1\r\nHost: %s\r\n\r\n"
                       % (a, a)).encode())
            resp = read_response(reader)
            self.assertEqual(resp.json()["target"], "/echo?after-trailer")
        finally:
            s.close()

    def test_repeated_response_headers_not_merged(self):
        r = self.curl("-D", "-", "-o", "/dev/null", self.origin.url("/echo?resp_dup=1"))
        cookies = [line.split(":", 1)[1].strip()
                   for line in r.stdout.decode("latin-1").splitlines()
                   if line.lower().startswith("set-cookie:")]
        self.assertEqual(cookies, ["a=1; Path=/", "b=2; Path=/"])

    def test_many_pipelined_requests(self):
        # 50 requests in one write: all answered, in order, none lost.
        a = self.origin.authority
        reqs = "".join("GET http://%s/echo?n=%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (a, i, a)
                       for i in range(50))
        s = connect(self.proxy)
        try:
            s.sendall(reqs.encode())
            reader = SocketReader(s)
            targets = [read_response(reader).json()["target"] for _ in range(50)]
        finally:
            s.close()
        self.assertEqual(targets, ["/echo?n=%d" % i for i in range(50)])

    def test_httpx_client(self):
        # httpx is a Debian package here, possibly only for /usr/bin/python3;
        # run it in whichever interpreter has it. <0.26 uses proxies=, later proxy=.
        script = r'''
import json, sys, httpx
proxy, url = sys.argv[1], sys.argv[2]
major, minor = (int(x) for x in httpx.__version__.split(".")[:2])
kw = {"proxy": proxy} if (major, minor) >= (0, 26) else {"proxies": proxy}
with httpx.Client(timeout=10, **kw) as c:
    g = c.get(url + "?via=httpx")
    p = c.post(url, content=b"z" * 4321)
    print(json.dumps([g.status_code, g.json(), p.status_code, p.json()]))
'''
        for py in (sys.executable, "/usr/bin/python3"):
            probe = subprocess.run([py, "-c", "import httpx"], capture_output=True)
            if probe.returncode == 0:
                break
        else:
            harness.skip_or_fail(harness.HTTPX_MISSING)
        r = subprocess.run([py, "-c", script, self.proxy.url, self.origin.url("/echo")],
                           capture_output=True, timeout=60, env=harness.clean_env())
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        gs, g, ps, p = json.loads(r.stdout)
        self.assertEqual(gs, 200)
        self.assertEqual(g["target"], "/echo?via=httpx")
        self.assertEqual(ps, 200)
        self.assertEqual((p["method"], p["body_length"]), ("POST", 4321))


def short_pool_idle_config(port):
    router = "config: { connect_timeout: 2s, response_timeout: 3s }"
    text = harness.proxy_config(port)
    assert router in text
    return text.replace(router, router[:-2] + ", upstream_idle_timeout: 300ms }")


class UpstreamIdleTimeoutTest(harness.ProxyTestCase):
    proxy_kwargs = {"config": short_pool_idle_config, "concurrency": 1}

    def get_status_200(self):
        resp, reader = harness.send_and_read(self.proxy, b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n"
                                             % self.origin.url("/status/200").encode())
        reader.sock.close()
        return resp.status

    def test_idle_pooled_connections_close_after_the_timeout(self):
        before = self.origin.stats()
        # Three sequential requests share one pooled connection...
        for _ in range(3):
            self.assertEqual(self.get_status_200(), 200)
            time.sleep(0.1)  # each use pushes the idle deadline back
        mid = self.origin.stats()
        self.assertEqual(mid["connections"] - before["connections"], 1)
        self.assertEqual(mid["connections_ended"], before["connections_ended"],
                         "the pooled connection closed while in use")
        # ...which the proxy closes once idle for 300 ms.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.origin.stats()["connections_ended"] > before["connections_ended"]:
                break
            time.sleep(0.05)
        self.assertEqual(self.origin.stats()["connections_ended"], before["connections_ended"] + 1,
                         "the idle pooled connection was not closed")
        # A new request opens a new connection and works.
        self.assertEqual(self.get_status_200(), 200)
        self.assertEqual(self.origin.stats()["connections"] - before["connections"], 2)


def one_connection_config(port):
    router = "config: { connect_timeout: 2s, response_timeout: 3s }"
    text = harness.proxy_config(port)
    assert router in text
    return text.replace(router, router[:-2] + ", max_connections_per_origin: 1,"
                        " max_pending_requests_per_origin: 2 }")


class OriginConnectionCapTest(harness.ProxyTestCase):
    proxy_kwargs = {"config": one_connection_config, "concurrency": 1}

    def test_requests_wait_for_the_one_connection_and_overflow_gets_503(self):
        before = self.origin.stats()
        url = self.origin.url("/delay?ms=300").encode()
        results = [None] * 5

        def fetch(i):
            resp, reader = harness.send_and_read(
                self.proxy, b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % url)
            reader.sock.close()
            results[i] = resp.status

        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
            time.sleep(0.03)  # in order: one in flight, two waiting, then two too many
        for t in threads:
            t.join(15)
        self.assertEqual(sorted(results), [200, 200, 200, 503, 503], results)
        # The waiting requests took turns on the one connection.
        self.assertEqual(self.origin.stats()["connections"] - before["connections"], 1)


if __name__ == "__main__":
    harness.main()
