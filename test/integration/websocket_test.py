#!/usr/bin/env python3
"""WebSocket through the proxy (issue: WebSocket and upgrades): ws:// as a forward proxy,
wss:// inside intercepted TLS, both with python3-websockets talking to a python3-websockets
echo origin; plus a hand-made client for what a library hides (the 101's fields, a declined
upgrade, an upgrade type that is not allowed, half-closes, the idle timeout)."""

import asyncio
import base64
import hashlib
import json
import os
import socket
import ssl
import threading
import time
import unittest

import harness

websockets = None
try:
    import websockets  # noqa: F811
    import websockets.server  # noqa: F401
except ImportError:
    pass

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class EchoOrigin:
    """A WebSocket echo server (python3-websockets) on 127.0.0.1, in a thread of its own.
    `requests` records each handshake's request headers."""

    def __init__(self, tls_cert=None, tls_key=None):
        self.requests = []
        self.loop = asyncio.new_event_loop()
        ctx = None
        if tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
        ready = threading.Event()

        async def echo(ws, path=None):
            self.requests.append(dict((k.lower(), v) for k, v in ws.request_headers.raw_items()))
            try:
                async for message in ws:
                    await ws.send(message)
            except websockets.ConnectionClosed:
                pass

        async def start():
            self.server = await websockets.serve(echo, "127.0.0.1", 0, ssl=ctx, max_size=None)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()

        def run():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(start())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        if not ready.wait(10):
            raise RuntimeError("websocket origin did not start")

    def stop(self):
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def frame(payload, opcode=0x1):
    """One masked client frame (RFC 6455 5.2)."""
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_frame(reader, deadline):
    """(opcode, payload) of one unmasked server frame."""
    b0, b1 = reader.read_exact(2, deadline)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(reader.read_exact(2, deadline), "big")
    elif n == 127:
        n = int.from_bytes(reader.read_exact(8, deadline), "big")
    return b0 & 0x0F, reader.read_exact(n, deadline)


def handshake(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def config(idle="1h", via=None):
    def make(port):
        return harness.http_listener_config(port, """
              websocket: { idle_timeout: %s }%s
              http_filters:
                - name: access_log
                  config: { path: %s, format: json }
                - name: router
""" % (idle, "\n              via: %s" % via if via else "", make.log))
    make.log = os.path.join(harness.tmpdir("ws"), "access.log")
    return make


@harness.needs(websockets is not None, "python3-websockets is missing")
class WebSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.echo = EchoOrigin()
        cls.http_origin = harness.OriginProcess()
        cls.config = config(via="test-proxy")
        cls.proxy = harness.Proxy(config=cls.config)

    @classmethod
    def tearDownClass(cls):
        try:
            harness.stop_and_check(cls.proxy)
        finally:
            cls.echo.stop()
            cls.http_origin.stop()

    def upgrade(self, port, path="/ws", upgrade="websocket", extra=""):
        key = base64.b64encode(os.urandom(16)).decode()
        s = harness.connect(self.proxy)
        s.sendall(("GET http://127.0.0.1:%d%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: %s\r\n"
                   "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n"
                   % (port, path, port, upgrade, key, extra)).encode())
        reader = harness.SocketReader(s)
        return s, reader, harness.read_response(reader, skip_1xx=False), key

    def test_handshake_and_echo_by_hand(self):
        s, reader, resp, key = self.upgrade(self.echo.port)
        try:
            self.assertEqual(resp.status, 101, resp)
            self.assertEqual(resp.header("upgrade").lower(), "websocket")
            self.assertIn("upgrade", resp.header("connection").lower())
            self.assertEqual(resp.header("sec-websocket-accept"), handshake(key))
            self.assertEqual(resp.header("via"), "1.1 test-proxy")
            deadline = time.monotonic() + 10
            for payload in (b"hello", b"x" * 300, os.urandom(70000)):
                s.sendall(frame(payload, 0x2))
                self.assertEqual(read_frame(reader, deadline), (0x2, payload))
            s.sendall(frame(b"\x03\xe8", 0x8))  # close, 1000
            self.assertEqual(read_frame(reader, deadline)[0], 0x8)
            closed, _ = harness.wait_closed(reader, 5)
            self.assertTrue(closed, "the proxy kept the connection after both sides closed")
        finally:
            s.close()
        request = self.echo.requests[-1]
        self.assertEqual(request["upgrade"].lower(), "websocket")
        self.assertEqual(request["via"], "1.1 test-proxy")

    def test_library_client_many_messages(self):
        async def run():
            sock = harness.connect(self.proxy)
            sock.setblocking(False)
            # Origin form through the proxy: it forwards by the Host field.
            async with websockets.connect("ws://127.0.0.1:%d/lib" % self.echo.port, sock=sock,
                                          max_size=None) as ws:
                for i in range(200):
                    await ws.send("message %d" % i)
                    self.assertEqual(await ws.recv(), "message %d" % i)
                big = os.urandom(4 * 1024 * 1024)  # flow control both ways
                await ws.send(big)
                self.assertEqual(await ws.recv(), big)
        asyncio.run(asyncio.wait_for(run(), 30))

    def test_declined_upgrade_is_an_ordinary_response_and_the_connection_goes_on(self):
        s, reader, resp, _ = self.upgrade(self.http_origin.port, path="/status/200")
        try:
            self.assertEqual(resp.status, 200, resp)
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                       % (self.http_origin.url("/echo"), self.http_origin.authority)).encode())
            echo = harness.read_response(reader)
            self.assertEqual(echo.status, 200)
        finally:
            s.close()

    def test_upgrade_with_a_body_is_not_taken(self):
        # Taking it would drop the body's framing: its bytes would reach the origin as another
        # request no filter saw (request smuggling). It goes on as a plain request instead.
        inner = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        s = harness.connect(self.proxy)
        try:
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n%x\r\n" % (self.http_origin.url("/echo?body=1"),
                                                                 self.http_origin.authority, len(inner))).encode()
                      + inner + b"\r\n0\r\n\r\n")
            reader = harness.SocketReader(s)
            resp = harness.read_response(reader)
            self.assertEqual(resp.status, 200, resp)
            echo = json.loads(resp.body)
            self.assertEqual(echo["target"], "/echo?body=1")
            self.assertEqual(echo["body_length"], len(inner))
            names = [k.lower() for k, _ in echo["headers"]]
            self.assertNotIn("upgrade", names)
            # And nothing else arrives behind it.
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                       % (self.http_origin.url("/echo?next=1"), self.http_origin.authority)).encode())
            self.assertEqual(json.loads(harness.read_response(reader).body)["target"], "/echo?next=1")
        finally:
            s.close()

    def test_origin_closing_first_ends_the_client_connection(self):
        s, reader, resp, _ = self.upgrade(self.echo.port, path="/close-first")
        try:
            self.assertEqual(resp.status, 101)
            deadline = time.monotonic() + 10
            s.sendall(frame(b"\x03\xe8", 0x8))  # we close; the origin answers and closes its end
            self.assertEqual(read_frame(reader, deadline)[0], 0x8)
            s.sendall(frame(b"late", 0x1))  # the origin is gone: dropped, nothing hangs on it
            s.shutdown(socket.SHUT_WR)
            closed, _ = harness.wait_closed(reader, 5)
            self.assertTrue(closed, "the proxy kept the connection after both sides ended")
        finally:
            s.close()

    def test_upgrade_types_not_allowed_go_on_as_plain_http(self):
        s, reader, resp, _ = self.upgrade(self.http_origin.port, path="/echo", upgrade="h2c")
        try:
            self.assertEqual(resp.status, 200, resp)
            names = [k.lower() for k, _ in json.loads(resp.body)["headers"]]
            self.assertNotIn("upgrade", names)
            self.assertNotIn("connection", names)
        finally:
            s.close()

    def test_access_log_line_when_it_ends(self):
        s, reader, resp, _ = self.upgrade(self.echo.port, path="/logged")
        self.assertEqual(resp.status, 101)
        deadline = time.monotonic() + 10
        s.sendall(frame(b"y" * 1000, 0x2))
        read_frame(reader, deadline)
        s.close()
        lines = harness.read_json_lines(self.config.log, timeout=5, at_least=1)
        logged = [l for l in lines if "/logged" in json.dumps(l)]
        self.assertTrue(logged, lines)
        self.assertEqual(logged[-1]["response_code"], 101)
        self.assertGreater(logged[-1]["bytes_received"], 1000)
        self.assertGreater(logged[-1]["bytes_sent"], 1000)


@harness.needs(websockets is not None, "python3-websockets is missing")
class WebSocketIdleTest(unittest.TestCase):
    def test_idle_upgraded_connection_is_closed(self):
        echo = EchoOrigin()
        proxy = harness.Proxy(config=config(idle="1s"))
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            s = harness.connect(proxy)
            s.sendall(("GET http://127.0.0.1:%d/idle HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                       % (echo.port, echo.port, key)).encode())
            reader = harness.SocketReader(s)
            self.assertEqual(harness.read_response(reader, skip_1xx=False).status, 101)
            start = time.monotonic()
            closed, _ = harness.wait_closed(reader, 6)
            self.assertTrue(closed, "still open 6 s after 1 s of idleness")
            self.assertGreater(time.monotonic() - start, 0.8)
            s.close()
        finally:
            harness.stop_and_check(proxy)
            echo.stop()


@harness.needs(websockets is not None, "python3-websockets is missing")
class SecureWebSocketTest(harness.InterceptTestCase):
    """wss:// inside an intercepted CONNECT, to a TLS origin."""

    def test_wss_echo_through_interception(self):
        echo = EchoOrigin(self.origin_cert, self.origin_key)
        try:
            async def run():
                sock, status, _ = harness.open_tunnel(self.proxy, "localhost", echo.port)
                self.assertEqual(status, 200)
                sock.setblocking(False)
                ctx = ssl.create_default_context(cafile=self.proxy_ca)
                async with websockets.connect("wss://localhost:%d/secure" % echo.port, sock=sock, ssl=ctx,
                                              server_hostname="localhost") as ws:
                    for i in range(50):
                        await ws.send(b"%d" % i)
                        self.assertEqual(await ws.recv(), b"%d" % i)
            asyncio.run(asyncio.wait_for(run(), 30))
            self.assertEqual(echo.requests[-1]["upgrade"].lower(), "websocket")
        finally:
            echo.stop()


if __name__ == "__main__":
    harness.main()
