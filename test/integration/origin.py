#!/usr/bin/env python3
"""Test origin server for the Interpose integration tests (stdlib only).

A small threaded HTTP/1.1 server with keep-alive, listening on 127.0.0.1.
It parses requests itself (instead of http.server) so that it can report
exactly what the proxy forwarded: the raw request target, header pairs in
arrival order, and the body's length and sha256.

Endpoints (all also answer HEAD, with the same headers and no body):
  /echo                 JSON: method, target, version, headers, body_length,
                        body_sha256, body_chunked. ?resp_hop=1 adds
                        hop-by-hop headers to the response, ?resp_dup=1
                        two Set-Cookie fields.
  /bytes?n=N&chunked=1  N bytes of pattern_iter() sent in 64 KiB pieces,
                        with Content-Length unless chunked=1 (&trailer=1
                        adds a trailer field) or eof=1 (delimited by close).
  /status/N             a response with status N (no body for 1xx/204/304);
                        /status/304?cl=K adds Content-Length: K (still no body).
  /delay?ms=N           answers after N ms (capped at 30 s).
  /stats                JSON counters (see Stats.snapshot()).
  /malformed?kind=K     a broken response (see Origin.MALFORMED), then close.
Any endpoint: ?close=1 answers with "Connection: close" and closes;
?drop=1 answers as keep-alive, then silently closes the connection;
?stall_ms=N waits N ms before reading the request body.

A second "control" listener serves /stats (and /fail_handshakes?n=N: drop the
next N TLS connections after their ClientHello) and is not counted, so that the
tests can read counters without changing them.

Run standalone:  python3 origin.py [--tls-cert C --tls-key K [--tls12-only]] [--bind ::1]
It prints "ORIGIN_PORT <port> CONTROL_PORT <port>" on stdout once ready and
exits when stdin reaches EOF (i.e. when the harness that started it dies).
"""

import argparse
import hashlib
import json
import socket
import ssl
import sys
import threading
import time
import urllib.parse

PIECE = 64 * 1024
# The pattern period is a prime larger than PIECE, so a duplicated, dropped
# or reordered 64 KiB piece changes the checksum.
_PERIOD = 65537
_BASE = bytes(((i * 131) ^ (i >> 7) ^ (i >> 13)) & 0xFF for i in range(_PERIOD))
_DOUBLE = _BASE + _BASE

MAX_HEAD = 1024 * 1024      # the origin accepts big headers: the proxy decides
IDLE_TIMEOUT = 30.0         # seconds an idle keep-alive connection is kept
MAX_DELAY_MS = 30000


def pattern_piece(offset, length):
    """Bytes [offset, offset+length) of the deterministic pattern."""
    assert length <= _PERIOD
    start = offset % _PERIOD
    return _DOUBLE[start:start + length]


def pattern_iter(n):
    off = 0
    while off < n:
        size = min(PIECE, n - off)
        yield pattern_piece(off, size)
        off += size


def pattern_sha256(n):
    h = hashlib.sha256()
    for piece in pattern_iter(n):
        h.update(piece)
    return h.hexdigest()


class BadRequest(Exception):
    pass


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0          # TCP connections accepted (main port)
        self.connections_ended = 0    # ... and since closed (by either side)
        self.tls_handshakes = 0       # TLS handshakes completed (main port)
        self.tls_sessions_reused = 0  # ... of which resumed an earlier session
        self.tls_handshakes_failed = 0
        self.heads_received = 0       # request heads parsed (before the body)
        self.requests = 0             # requests answered
        self.bad_requests = 0         # requests the origin could not parse
        self.bytes_received = 0       # body bytes received
        self.targets = []             # last 500 request targets with a head

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def add_target(self, target):
        with self.lock:
            self.targets.append(target)
            del self.targets[:-500]

    def snapshot(self):
        with self.lock:
            return {
                "connections": self.connections,
                "connections_ended": self.connections_ended,
                "tls_handshakes": self.tls_handshakes,
                "tls_sessions_reused": self.tls_sessions_reused,
                "tls_handshakes_failed": self.tls_handshakes_failed,
                "heads_received": self.heads_received,
                "requests": self.requests,
                "bad_requests": self.bad_requests,
                "bytes_received": self.bytes_received,
                "targets": list(self.targets),
            }


class Conn:
    """Buffered reader over a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(PIECE)
        if not data:
            raise EOFError
        self.buf += data

    def read_until(self, delim, limit):
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + len(delim):]
                return out
            if len(self.buf) > limit:
                raise BadRequest("line or head too long")
            self._fill()

    def read_exact(self, n, sink):
        """Reads n bytes, passing them to sink(bytes) piece by piece."""
        while n > 0:
            if not self.buf:
                self._fill()
            take = self.buf[:n]
            self.buf = self.buf[len(take):]
            n -= len(take)
            sink(take)


def parse_head(raw):
    lines = raw.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise BadRequest("bad request line %r" % lines[0][:100])
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise BadRequest("bad header line %r" % line[:100])
        headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return (parts[0].decode("latin-1"), parts[1].decode("latin-1"),
            parts[2].decode("latin-1"), headers)


def header_values(headers, name):
    name = name.lower()
    return [v for k, v in headers if k.lower() == name]


class Origin:
    def __init__(self, tls_cert=None, tls_key=None, bind="127.0.0.1", client_ca=None,
                 tls12_only=False):
        self.stats = Stats()
        self.ssl_ctx = None
        self.fail_handshakes = 0  # set through the control port's /fail_handshakes?n=N
        if tls_cert:
            self.ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ssl_ctx.load_cert_chain(tls_cert, tls_key)
            if tls12_only:
                self.ssl_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            if client_ca:
                # Mutual TLS: only clients with a certificate from client_ca get in.
                self.ssl_ctx.verify_mode = ssl.CERT_REQUIRED
                self.ssl_ctx.load_verify_locations(client_ca)
        self.listener = self._listen(bind)
        self.control = self._listen("127.0.0.1")    # the harness reads /stats there
        self.port = self.listener.getsockname()[1]
        self.control_port = self.control.getsockname()[1]
        self.stopping = False

    @staticmethod
    def _listen(host):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        s.listen(128)
        return s

    def start(self):
        for sock, counted in ((self.listener, True), (self.control, False)):
            threading.Thread(target=self._accept_loop, args=(sock, counted),
                             daemon=True).start()

    def _accept_loop(self, listener, counted):
        while not self.stopping:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            if counted:
                self.stats.add(connections=1)
            threading.Thread(target=self._serve, args=(sock, counted),
                             daemon=True).start()

    def _serve(self, sock, counted):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(IDLE_TIMEOUT)
            if self.ssl_ctx is not None and counted:
                with self.stats.lock:
                    drop = self.fail_handshakes > 0
                    self.fail_handshakes -= int(drop)
                if drop:
                    sock.recv(4096)  # the ClientHello, then hang up
                    self.stats.add(tls_handshakes_failed=1)
                    return
                try:
                    sock = self.ssl_ctx.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError):
                    self.stats.add(tls_handshakes_failed=1)
                    return
                self.stats.add(tls_handshakes=1, tls_sessions_reused=int(sock.session_reused))
            conn = Conn(sock)
            if isinstance(sock, ssl.SSLSocket):
                peer = sock.getpeercert() or {}
                conn.client_subject = dict(x[0] for x in peer.get("subject", ()))
            while self._serve_one(conn, counted):
                pass
        except (EOFError, OSError, socket.timeout):
            pass
        except BadRequest as e:
            self.stats.add(bad_requests=1)
            body = ("origin: bad request: %s\n" % e).encode()
            try:
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\n\r\n%s" % (len(body), body))
            except OSError:
                pass
        finally:
            try:
                sock.close()
            except OSError:
                pass
            if counted:
                self.stats.add(connections_ended=1)

    def _read_body(self, conn, headers, sink):
        """Returns True when the body arrived chunked."""
        te = ",".join(header_values(headers, "transfer-encoding")).lower()
        cls = header_values(headers, "content-length")
        if te:
            if te.replace(" ", "") != "chunked":
                raise BadRequest("unsupported transfer-encoding %r" % te)
            while True:
                line = conn.read_until(b"\r\n", 1024)
                size_text = line.split(b";")[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise BadRequest("bad chunk size %r" % line[:50])
                if size == 0:
                    # Trailer section ends with an empty line.
                    while conn.read_until(b"\r\n", 64 * 1024):
                        pass
                    return True
                conn.read_exact(size, sink)
                if conn.read_until(b"\r\n", 2) != b"":
                    raise BadRequest("chunk not followed by CRLF")
        if cls:
            if len(set(cls)) != 1 or not cls[0].isdigit():
                raise BadRequest("bad content-length %r" % cls)
            conn.read_exact(int(cls[0]), sink)
        return False

    def _serve_one(self, conn, counted):
        head = conn.read_until(b"\r\n\r\n", MAX_HEAD)
        method, target, version, headers = parse_head(head)
        if counted:
            self.stats.add(heads_received=1)
            self.stats.add_target(target)
        if any(v.lower() == "100-continue" for v in header_values(headers, "expect")):
            # A real origin would answer the expectation; the proxy must cope.
            conn.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        parsed_target = urllib.parse.urlsplit(target)
        query = urllib.parse.parse_qs(parsed_target.query)
        if parsed_target.path == "/malformed":
            self._malformed(conn.sock, query.get("kind", [""])[0])
            return False
        if "stall_ms" in query:
            # Don't read the body for a while: a proxy without flow control
            # would buffer the client's upload meanwhile.
            time.sleep(min(int(query["stall_ms"][0]), MAX_DELAY_MS) / 1000.0)
        digest = hashlib.sha256()
        length = [0]

        def sink(data):
            digest.update(data)
            length[0] += len(data)

        chunked = self._read_body(conn, headers, sink)
        if counted:
            self.stats.add(requests=1, bytes_received=length[0])
        conn_tokens = ",".join(header_values(headers, "connection")).lower()
        close = "close" in [t.strip() for t in conn_tokens.split(",")] or version == "HTTP/1.0"
        req = {
            "method": method, "target": target, "version": version,
            "headers": headers, "body_length": length[0],
            "body_sha256": digest.hexdigest(), "body_chunked": chunked,
            "client_subject": getattr(conn, "client_subject", None),
        }
        if query.get("close") == ["1"] or query.get("eof") == ["1"]:
            close = True                  # announced: "Connection: close"
        self._respond(conn.sock, req, counted, close)
        if query.get("drop") == ["1"]:
            # Unannounced close shortly after a keep-alive response, as an
            # origin's idle timeout would: pooled connections go stale.
            time.sleep(0.05)
            return False
        return not close

    MALFORMED = {
        "garbage": b"NOT HTTP AT ALL\r\n\r\n",
        "two_cl": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "bad_chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        "truncated": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly 20 bytes here..",
        "no_response": b"",
    }

    def _malformed(self, sock, kind):
        """Writes a broken response (or none), then closes. The request body,
        if any, is not read."""
        self.stats.add(requests=1)
        sock.sendall(self.MALFORMED[kind])
        time.sleep(0.05)

    def _respond(self, sock, req, counted, close):
        method = req["method"]
        parsed = urllib.parse.urlsplit(req["target"])
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query)
        status, extra, body, stream_n, chunked = 200, [], b"", None, False
        if not counted and path == "/fail_handshakes":
            # Test hook: the next n TLS connections are dropped after their ClientHello.
            with self.stats.lock:
                self.fail_handshakes = int(query.get("n", ["1"])[0])
            body = b"ok\n"
        elif not counted or path == "/stats":
            body = json.dumps(self.stats.snapshot()).encode()
            extra.append(("Content-Type", "application/json"))
        elif path == "/echo":
            body = json.dumps(req).encode()
            extra.append(("Content-Type", "application/json"))
            if query.get("resp_dup") == ["1"]:
                # Repeated fields that must not be merged into one line.
                extra += [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/")]
            if query.get("resp_hop") == ["1"]:
                extra += [("Connection", "X-Origin-Hop"), ("X-Origin-Hop", "1"),
                          ("Keep-Alive", "timeout=30"), ("X-Origin-Keep", "1")]
        elif path == "/bytes":
            stream_n = int(query.get("n", ["0"])[0])
            chunked = query.get("chunked") == ["1"]
        elif path.startswith("/status/"):
            status = int(path[len("/status/"):])
            body = b"" if status in (204, 304) else b"status %d\n" % status
        elif path == "/delay":
            ms = min(int(query.get("ms", ["0"])[0]), MAX_DELAY_MS)
            time.sleep(ms / 1000.0)
            body = b"delayed %d ms\n" % ms
        else:
            status, body = 404, b"no such endpoint\n"

        lines = ["HTTP/1.1 %d %s" % (status, "OK" if status == 200 else "Status")]
        lines += ["%s: %s" % kv for kv in extra]
        if close:
            lines.append("Connection: close")
        trailer = query.get("trailer") == ["1"]
        eof = query.get("eof") == ["1"]      # body delimited by closing
        if stream_n is not None:
            if chunked:
                lines.append("Transfer-Encoding: chunked")
                if trailer:
                    lines.append("Trailer: X-Trailer")
            elif not eof:
                lines.append("Content-Length: %d" % stream_n)
        elif status not in (204, 304):
            lines.append("Content-Length: %d" % len(body))
        elif status == 304 and "cl" in query:
            # Allowed: a 304's Content-Length describes the selected
            # representation; no body follows.
            lines.append("Content-Length: %d" % int(query["cl"][0]))
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if method != "HEAD" and stream_n is None and body:
            # A small response leaves in one write (one TLS record), as nginx sends it.
            sock.sendall(head + body)
            return
        sock.sendall(head)
        if method == "HEAD":
            return
        if stream_n is not None:
            for piece in pattern_iter(stream_n):
                if chunked:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    sock.sendall(piece)
            if chunked:
                sock.sendall(b"0\r\nX-Trailer: done\r\n\r\n" if trailer else b"0\r\n\r\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--bind", default="127.0.0.1",
                    help="address of the main listener (loopback: 127.0.0.x or ::1)")
    ap.add_argument("--max-lifetime", type=float, default=1800.0)
    ap.add_argument("--client-ca", help="require client certificates issued by this CA (mTLS)")
    ap.add_argument("--tls12-only", action="store_true", help="speak TLS 1.2 at most")
    args = ap.parse_args()
    origin = Origin(args.tls_cert, args.tls_key, args.bind, args.client_ca, args.tls12_only)
    origin.start()
    print("ORIGIN_PORT %d CONTROL_PORT %d" % (origin.port, origin.control_port), flush=True)
    # Exit when the parent closes our stdin, or after max-lifetime at most.
    t = threading.Thread(target=sys.stdin.read, daemon=True)
    t.start()
    t.join(args.max_lifetime)


if __name__ == "__main__":
    main()
