#!/usr/bin/env python3
"""Error handling: malformed and smuggling-shaped requests (400, never
forwarded), oversized headers (431), origin refused / DNS failure (502),
slow origin (504), client too slow sending headers (408). After every case
the proxy must still serve normal requests."""

import time

import harness
from harness import send_and_read, wait_closed, connect, SocketReader, read_response


class MalformedRequestTest(harness.ProxyTestCase):

    def request_prefix(self, method, case):
        a = self.origin.authority
        return "%s http://%s/echo?case=%s HTTP/1.1\r\nHost: %s\r\n" % (method, a, case, a)

    def assert_rejected(self, case, raw, expect_no_upstream_head=True):
        """raw must get 400, the connection must close, and the origin must not
        have received the request."""
        before = self.origin.stats()
        resp, reader = send_and_read(self.proxy, raw, timeout=5)
        try:
            self.assertEqual(resp.status, 400, "%s: expected 400, got %r" % (case, resp))
            closed, extra = wait_closed(reader, timeout=3)
            self.assertTrue(closed, "%s: connection left open after 400" % case)
        finally:
            reader.sock.close()
        time.sleep(0.2)   # let anything the proxy might still send arrive
        after = self.origin.stats()
        self.assertEqual(after["requests"], before["requests"],
                         "%s: a request reached the origin: %r" % (case, after["targets"][-3:]))
        if expect_no_upstream_head:
            self.assertEqual(after["heads_received"], before["heads_received"],
                             "%s: request head forwarded to the origin: %r"
                             % (case, after["targets"][-3:]))
        self.assertProxyServing()

    def test_content_length_and_transfer_encoding(self):
        raw = (self.request_prefix("POST", "cl-te")
               + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        self.assert_rejected("CL+TE", raw.encode())

    def test_transfer_encoding_and_content_length(self):
        raw = (self.request_prefix("POST", "te-cl")
               + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n")
        self.assert_rejected("TE+CL", raw.encode())

    def test_two_differing_content_lengths(self):
        raw = (self.request_prefix("POST", "cl-cl")
               + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
        self.assert_rejected("CL 5 + CL 6", raw.encode())

    def test_content_length_list_differing(self):
        raw = self.request_prefix("POST", "cl-list") + "Content-Length: 5, 6\r\n\r\nhello!"
        self.assert_rejected("CL '5, 6'", raw.encode())

    def test_non_numeric_content_length(self):
        raw = self.request_prefix("POST", "cl-nan") + "Content-Length: 5x\r\n\r\nhello"
        self.assert_rejected("CL 5x", raw.encode())

    def test_bad_chunk_size(self):
        # Headers are valid, so a streaming proxy may already have sent them
        # upstream; what must never reach the origin is a complete request.
        raw = (self.request_prefix("POST", "bad-chunk")
               + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
        self.assert_rejected("chunk size 'zz'", raw.encode(), expect_no_upstream_head=False)

    def test_transfer_encoding_not_ending_in_chunked(self):
        # RFC 9112 6.3: TE present but chunked not final -> length unknown -> 400.
        for i, te in enumerate(["xchunked", "chunked, gzip", "gzip"]):
            with self.subTest(te=te):
                raw = (self.request_prefix("POST", "te-%d" % i)
                       + "Transfer-Encoding: %s\r\n\r\n0\r\n\r\n" % te)
                self.assert_rejected("TE %r" % te, raw.encode())

    def test_chunk_size_overflow(self):
        raw = (self.request_prefix("POST", "chunk-overflow")
               + "Transfer-Encoding: chunked\r\n\r\n"
               + "1" + "0" * 40 + "\r\nhello\r\n0\r\n\r\n")
        self.assert_rejected("chunk size 2^160", raw.encode(), expect_no_upstream_head=False)

    def test_space_before_colon(self):
        # RFC 9112 5.1: whitespace between field name and colon must be rejected.
        raw = self.request_prefix("GET", "ws-colon") + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"
        self.assert_rejected("'Transfer-Encoding :'", raw.encode())

    def test_space_before_colon_in_trailer(self):
        # The same rule for trailer fields: the body may already be on its way upstream, but
        # the request must never reach the origin complete, with "X-Bad : v" in its trailers.
        raw = (self.request_prefix("POST", "ws-colon-trailer")
               + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Bad : v\r\n\r\n")
        self.assert_rejected("trailer 'X-Bad :'", raw.encode(), expect_no_upstream_head=False)

    def test_header_without_colon(self):
        raw = self.request_prefix("GET", "no-colon") + "this is not a header\r\n\r\n"
        self.assert_rejected("header without colon", raw.encode())

    def test_http11_without_host(self):
        # RFC 9112 3.2: an HTTP/1.1 request without Host gets 400.
        self.assert_rejected("no Host", b"GET /echo?case=no-host HTTP/1.1\r\nX-A: 1\r\n\r\n")

    def test_garbage(self):
        self.assert_rejected("garbage", b"\x16\x03\x01\x02\x00 garbage \xff\xfe\r\n\r\n")

    def test_garbage_request_line(self):
        self.assert_rejected("bad request line", b"HELLO THERE WORLD AGAIN\r\n\r\n")


class OversizedHeadersTest(harness.ProxyTestCase):

    def get_with_headers(self, case, extra_headers):
        a = self.origin.authority
        raw = ("GET http://%s/echo?case=%s HTTP/1.1\r\nHost: %s\r\n%s\r\n"
               % (a, case, a, extra_headers)).encode()
        resp, reader = send_and_read(self.proxy, raw, timeout=5)
        reader.sock.close()
        return resp

    def test_one_huge_header_431(self):
        before = self.origin.stats()
        resp = self.get_with_headers("huge", "X-Big: %s\r\n" % ("a" * 70000))
        self.assertEqual(resp.status, 431, resp)
        self.assertEqual(self.origin.stats()["heads_received"], before["heads_received"])
        self.assertProxyServing()

    def test_many_headers_over_limit_431(self):
        headers = "".join("X-H%03d: %s\r\n" % (i, "b" * 1000) for i in range(100))
        resp = self.get_with_headers("many", headers)
        self.assertEqual(resp.status, 431, resp)
        self.assertProxyServing()

    def test_headers_under_limit_pass(self):
        # 32 KiB of headers is within the 64 KiB limit and must be forwarded intact.
        value = "c" * (32 * 1024)
        resp = self.get_with_headers("under", "X-Big: %s\r\n" % value)
        self.assertEqual(resp.status, 200, resp)
        # Header names are case-insensitive; the value must be intact.
        forwarded = [v for k, v in resp.json()["headers"] if k.lower() == "x-big"]
        self.assertEqual(forwarded, [value])


class UpstreamFailureTest(harness.ProxyTestCase):

    def test_origin_refused_502(self):
        port = harness.closed_port()
        r = self.curl("-w", "\n%{http_code}", "http://127.0.0.1:%d/refused" % port)
        body, _, code = r.stdout.decode("latin-1").rpartition("\n")
        self.assertEqual(code, "502", r)
        self.assertRegex(body.lower(), r"refused", "502 body should say why: %r" % body)
        self.assertProxyServing()

    def test_dns_failure_502(self):
        # Without a private resolv.conf the lookup would leave the machine.
        harness.require(harness.dns_isolation_available(),
                        "cannot isolate DNS: a private /etc/resolv.conf needs `unshare -m` "
                        "and `mount --bind` (a real resolver is never queried)",
                        harness.UNSHARE_HINT)
        r = self.curl("-w", "\n%{http_code}", "http://nonexistent.invalid/dns")
        body, _, code = r.stdout.decode("latin-1").rpartition("\n")
        self.assertEqual(code, "502", r)
        self.assertRegex(body.lower(), r"dns|resolv", "502 body should say why: %r" % body)
        self.assertProxyServing()

    def test_slow_origin_504(self):
        # response_timeout is 3 s; the origin answers after 6 s.
        start = time.monotonic()
        r = self.curl("-o", "/dev/null", "-w", "%{http_code}", self.origin.url("/delay?ms=6000"))
        elapsed = time.monotonic() - start
        self.assertEqual(r.stdout, b"504", r)
        self.assertGreater(elapsed, 2.5, "504 came before the 3 s response timeout")
        self.assertLess(elapsed, 5.5, "504 came long after the 3 s response timeout")
        self.assertProxyServing()


class UpstreamProtocolErrorTest(harness.ProxyTestCase):
    """The origin answers with something that is not valid HTTP/1.1."""

    def get_malformed(self, kind):
        r = self.curl("-w", "\n%{http_code}", self.origin.url("/malformed?kind=" + kind))
        body, _, code = r.stdout.decode("latin-1").rpartition("\n")
        return r.returncode, code, body

    def test_garbage_response_502(self):
        rc, code, body = self.get_malformed("garbage")
        self.assertEqual(code, "502", body)
        self.assertNotIn("NOT HTTP", body)
        self.assertProxyServing()

    def test_conflicting_content_lengths_502(self):
        rc, code, body = self.get_malformed("two_cl")
        self.assertEqual(code, "502", body)
        self.assertProxyServing()

    def test_no_response_502(self):
        rc, code, body = self.get_malformed("no_response")
        self.assertEqual(code, "502", body)
        self.assertProxyServing()

    def test_truncated_body_is_not_passed_off_as_complete(self):
        # Headers may already be on their way to the client: then the proxy
        # must close the client connection (curl: 18 "transfer closed with
        # outstanding read data"), never pad or end the body as if complete.
        rc, code, body = self.get_malformed("truncated")
        if code == "502":
            self.assertEqual(rc, 0)
        else:
            self.assertEqual((rc, code), (18, "200"), body)
        self.assertProxyServing()

    def test_bad_chunk_in_response(self):
        rc, code, body = self.get_malformed("bad_chunk")
        self.assertTrue(code == "502" or rc != 0,
                        "a response with a bad chunk reached the client as complete: %r"
                        % ((rc, code, body),))
        self.assertProxyServing()


class TimedOutUpstreamNotReusedTest(harness.ProxyTestCase):

    def test_late_response_does_not_poison_pool(self):
        # After a 504 the origin still sends its (late) response on that
        # upstream connection; if the proxy pooled it, a later request would
        # receive the stale "delayed" body instead of its own.
        r = self.curl("-o", "/dev/null", "-w", "%{http_code}", self.origin.url("/delay?ms=3500"))
        self.assertEqual(r.stdout, b"504", r)
        time.sleep(1.0)   # the late response has now been written
        for i in range(4):
            r = self.curl(self.origin.url("/echo?after504=%d" % i))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b'"target": "/echo?after504=%d"' % i, r.stdout,
                          "request %d got someone else's response: %r" % (i, r.stdout[:200]))


class RequestHeaderTimeoutTest(harness.ProxyTestCase):

    def test_incomplete_headers_408(self):
        # request_headers timeout is 2 s: a client that stops mid-headers gets
        # 408 and the connection closes.
        a = self.origin.authority
        s = connect(self.proxy)
        start = time.monotonic()
        try:
            s.sendall(("GET http://%s/echo?slow=1 HTTP/1.1\r\nHost: %s\r\nX-Partial: "
                       % (a, a)).encode())
            reader = SocketReader(s)
            resp = read_response(reader, timeout=8)
            elapsed = time.monotonic() - start
            closed, _ = wait_closed(reader, timeout=3)
        finally:
            s.close()
        self.assertEqual(resp.status, 408, resp)
        self.assertGreater(elapsed, 1.5, "408 sent before the 2 s timeout")
        self.assertLess(elapsed, 5.0, "408 sent long after the 2 s timeout")
        self.assertTrue(closed, "connection not closed after 408")
        self.assertNotIn("/echo?slow=1", self.origin.stats()["targets"])
        self.assertProxyServing()

    def test_slow_but_steady_headers_time_out(self):
        # A trickle of header bytes must not extend the deadline forever
        # (slowloris): the timeout covers the whole header section.
        a = self.origin.authority
        s = connect(self.proxy)
        start = time.monotonic()
        got = b""
        try:
            s.sendall(("GET http://%s/echo?trickle=1 HTTP/1.1\r\nHost: %s\r\n" % (a, a)).encode())
            s.settimeout(0.5)
            for i in range(16):            # at most 8 s of trickling
                try:
                    s.sendall(b"X-T%d: 1\r\n" % i)
                except OSError:
                    # The proxy may have answered and closed: read what it sent.
                    try:
                        got = s.recv(4096)
                    except OSError:
                        pass
                    break
                try:
                    got = s.recv(4096)
                    if got:
                        break
                except OSError as e:
                    if not isinstance(e, TimeoutError):
                        break
        finally:
            s.close()
        elapsed = time.monotonic() - start
        self.assertTrue(got.startswith(b"HTTP/1.1 408"), "got %r" % got[:100])
        self.assertLess(elapsed, 5.0)


if __name__ == "__main__":
    harness.main()
