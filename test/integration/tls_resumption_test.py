"""TLS session resumption on both sides of an intercepted connection.

Upstream: the router keeps the sessions origins issue (per origin, per upstream_tls config)
and offers one on its next new connection to that origin, so the origin skips its signature
and the proxy its chain verification. The test origin counts completed handshakes and how
many of them resumed a session; `?close=1` makes it close after each response, so every
request needs a new upstream connection.

Downstream: clients that kept our session (a browser reconnecting) resume it, whichever
worker takes the new connection."""

import harness


class UpstreamResumptionTest(harness.InterceptTestCase):
    proxy_per_test = True

    def fetch(self, host="localhost", path="/echo?close=1"):
        r = self.curl("--cacert", self.proxy_ca, "-o", "/dev/null", "-w", "%{http_code}",
                      self.https_url(path, host=host))
        self.assertEqual(r.stdout, b"200", r.stderr)

    def handshakes(self):
        s = self.tls_origin.stats()
        return s["tls_handshakes"], s["tls_sessions_reused"]

    def test_new_upstream_connections_resume(self):
        h0, r0 = self.handshakes()
        for _ in range(4):
            self.fetch()
        h1, r1 = self.handshakes()
        # The first connection is a full handshake; each later one resumes (TLS 1.3 tickets
        # are single-use, and the origin sends new ones on every connection).
        self.assertEqual((h1 - h0, r1 - r0), (4, 3))

    def test_tls12_sessions_are_resumed(self):
        # A TLS 1.2 session may be offered again and again (RFC 5077 tickets or session IDs).
        origin = harness.OriginProcess(tls_cert=self.origin_cert, tls_key=self.origin_key,
                                       tls12_only=True)
        try:
            for _ in range(4):
                r = self.curl("--cacert", self.proxy_ca, "-o", "/dev/null", "-w", "%{http_code}",
                              self.https_url("/echo?close=1", origin=origin))
                self.assertEqual(r.stdout, b"200", r.stderr)
            s = origin.stats()
            self.assertEqual((s["tls_handshakes"], s["tls_sessions_reused"]), (4, 3))
        finally:
            origin.stop()

    def test_sessions_are_not_offered_to_another_name(self):
        self.fetch(host="localhost")
        self.fetch(host="localhost")
        h0, r0 = self.handshakes()
        # Same origin process, other name (checked against the IP SAN): a session verified
        # for "localhost" must not stand in for a check of 127.0.0.1.
        self.fetch(host="127.0.0.1")
        h1, r1 = self.handshakes()
        self.assertEqual((h1 - h0, r1 - r0), (1, 0))
        self.fetch(host="127.0.0.1")
        h2, r2 = self.handshakes()
        self.assertEqual((h2 - h1, r2 - r1), (1, 1))

    def test_a_failed_resumed_handshake_is_retried_in_full(self):
        self.fetch()  # a full handshake: the origin's tickets are kept
        s0 = self.tls_origin.stats()
        self.tls_origin.fail_handshakes(1)
        # The next connection offers a ticket and the origin hangs up on it: the router forgets
        # the origin's sessions and connects once more with a full handshake.
        self.fetch()
        s1 = self.tls_origin.stats()
        self.assertEqual(s1["tls_handshakes_failed"] - s0["tls_handshakes_failed"], 1)
        self.assertEqual((s1["tls_handshakes"] - s0["tls_handshakes"],
                          s1["tls_sessions_reused"] - s0["tls_sessions_reused"]), (1, 0))

    def test_a_failed_full_handshake_is_not_retried(self):
        harness.stop_and_check(self.proxy)
        self.proxy = self.start_proxy(session_cache_size=0)
        s0 = self.tls_origin.stats()
        self.tls_origin.fail_handshakes(1)
        r = self.curl("--cacert", self.proxy_ca, "-o", "/dev/null", "-w", "%{http_code}",
                      self.https_url("/echo?close=1"))
        self.assertEqual(r.stdout, b"502")
        s1 = self.tls_origin.stats()
        self.assertEqual(s1["tls_handshakes_failed"] - s0["tls_handshakes_failed"], 1)
        self.assertEqual(s1["tls_handshakes"], s0["tls_handshakes"])

    def test_session_cache_size_zero_turns_resumption_off(self):
        harness.stop_and_check(self.proxy)
        self.proxy = self.start_proxy(session_cache_size=0)
        h0, r0 = self.handshakes()
        for _ in range(3):
            self.fetch()
        h1, r1 = self.handshakes()
        self.assertEqual((h1 - h0, r1 - r0), (3, 0))


class DownstreamResumptionTest(harness.InterceptTestCase):
    concurrency = 2

    def request(self, ctx, session=None):
        s = harness.tls_via_proxy(self.proxy, "localhost", self.tls_origin.port, ctx=ctx,
                                  session=session)
        try:
            r = harness.https_request(s, "GET", "localhost:%d" % self.tls_origin.port,
                                      "/status/200", headers=[("Connection", "close")])
            self.assertEqual(r.status, 200)
            return s.session, s.session_reused
        finally:
            s.close()

    def test_clients_resume_their_sessions(self):
        ctx = harness.client_context(self.proxy_ca)
        session, reused = self.request(ctx)
        self.assertFalse(reused)
        # Several reconnections: with two workers, both take some of them.
        results = [self.request(ctx, session)[1] for _ in range(6)]
        self.assertEqual(results, [True] * 6)


if __name__ == "__main__":
    harness.main()
