#!/usr/bin/env python3
"""Large bodies stream through the proxy with bounded memory: a 256 MiB
download and a 64 MiB upload arrive intact while the proxy's resident set
stays under RSS_LIMIT, including when the client stops reading for a while
(the proxy must apply backpressure to the origin, not buffer)."""

import hashlib
import json
import os
import socket
import struct
import subprocess
import time

import harness
from harness import RssSampler, connect, SocketReader

MiB = 1024 * 1024
RSS_LIMIT_KIB = 64 * 1024
UPLOAD_RSS_LIMIT_KIB = 32 * 1024
DOWNLOAD = 256 * MiB
UPLOAD = 64 * MiB


class LargeBodyTest(harness.ProxyTestCase):
    # A fresh proxy per test: VmHWM is a lifetime peak, so each test gets its own.
    proxy_per_test = True

    def assert_memory_bounded(self, sampler, what, limit_kib=RSS_LIMIT_KIB):
        mem = self.proxy.memory_kib()
        # VmHWM is the kernel's exact peak, so it catches spikes between samples.
        peak = max(sampler.peak_rss, mem["VmHWM"])
        self.assertGreater(sampler.samples, 0)
        self.assertLess(peak, limit_kib,
                        "%s: proxy peak RSS %d KiB (limit %d KiB)" % (what, peak, limit_kib))

    def download(self, path, expected_len):
        cmd_args = ["-o", "-", "--write-out", "%{stderr}%{http_code} %{size_download}",
                    self.origin.url(path)]
        cmd = ["curl", "-sS", "--noproxy", "", "-x", self.proxy.url, "--max-time", "120"] + cmd_args
        h = hashlib.sha256()
        total = 0
        with RssSampler(self.proxy) as sampler:
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=harness.clean_env())
            try:
                while True:
                    data = p.stdout.read(1 << 20)
                    if not data:
                        break
                    h.update(data)
                    total += len(data)
                stderr = p.stderr.read()
                rc = p.wait(130)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait(5)
                p.stdout.close()
                p.stderr.close()
        self.assertEqual(rc, 0, stderr)
        self.assertTrue(stderr.endswith(b"200 %d" % expected_len), stderr[-300:])
        self.assertEqual(total, expected_len)
        self.assertEqual(h.hexdigest(), harness.origin_mod.pattern_sha256(expected_len))
        return sampler

    def test_download_256mib_content_length(self):
        sampler = self.download("/bytes?n=%d" % DOWNLOAD, DOWNLOAD)
        self.assert_memory_bounded(sampler, "256 MiB download")

    def test_download_256mib_chunked(self):
        sampler = self.download("/bytes?n=%d&chunked=1" % DOWNLOAD, DOWNLOAD)
        self.assert_memory_bounded(sampler, "256 MiB chunked download")

    def test_download_with_stalled_client(self):
        # The client reads the head, then stops reading for 1.5 s with a small
        # receive buffer. Without flow control the proxy would pull the whole
        # body from the (fast) origin into memory.
        a = self.origin.authority
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.settimeout(10)
        s.connect(("127.0.0.1", self.proxy.port))
        h = hashlib.sha256()
        try:
            with RssSampler(self.proxy) as sampler:
                s.sendall(("GET http://%s/bytes?n=%d HTTP/1.1\r\nHost: %s\r\n\r\n"
                           % (a, DOWNLOAD, a)).encode())
                reader = SocketReader(s)
                deadline = time.monotonic() + 10
                head = reader.read_until(b"\r\n\r\n", deadline)
                self.assertTrue(head.startswith(b"HTTP/1.1 200"), head[:200])
                time.sleep(1.5)   # stall: long enough for an unbounded proxy to slurp it all
                stalled_rss = self.proxy.memory_kib()["VmRSS"]
                h.update(reader.buf)
                total = len(reader.buf)
                deadline = time.monotonic() + 120
                while total < DOWNLOAD and time.monotonic() < deadline:
                    data = s.recv(min(1 << 20, DOWNLOAD - total))
                    if not data:
                        break
                    h.update(data)
                    total += len(data)
        finally:
            s.close()
        self.assertLess(stalled_rss, RSS_LIMIT_KIB,
                        "proxy buffered while the client stalled: RSS %d KiB" % stalled_rss)
        self.assertEqual(total, DOWNLOAD)
        self.assertEqual(h.hexdigest(), harness.origin_mod.pattern_sha256(DOWNLOAD))
        self.assert_memory_bounded(sampler, "stalled-client download")

    def upload(self, *extra, target="/echo?upload=1"):
        path = os.path.join(harness.tmpdir("upload"), "upload.bin")
        h = hashlib.sha256()
        with open(path, "wb") as f:
            for piece in harness.origin_mod.pattern_iter(UPLOAD):
                f.write(piece)
                h.update(piece)
        try:
            with RssSampler(self.proxy) as sampler:
                r = self.curl(*extra, "--data-binary", "@" + path,
                              "-H", "Content-Type: application/octet-stream",
                              self.origin.url(target), timeout=120)
        finally:
            os.unlink(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        echo = json.loads(r.stdout)
        self.assertEqual(echo["body_length"], UPLOAD)
        self.assertEqual(echo["body_sha256"], h.hexdigest())
        # Half the upload size: a proxy holding the whole 64 MiB body must
        # fail clearly, not just by its baseline exceeding the margin.
        self.assert_memory_bounded(sampler, "64 MiB upload", UPLOAD_RSS_LIMIT_KIB)

    def test_upload_64mib(self):
        self.upload()

    def test_upload_to_stalled_origin(self):
        # The origin reads nothing for 1.5 s: the proxy must stop reading from
        # the client rather than buffer the upload.
        self.upload(target="/echo?upload=stalled&stall_ms=1500")

    def test_client_abort_mid_download(self):
        # The client vanishes after 1 MiB of a 256 MiB download: the proxy must
        # survive it, not buffer the rest, and keep serving.
        s = connect(self.proxy)
        a = self.origin.authority
        s.sendall(("GET http://%s/bytes?n=%d HTTP/1.1\r\nHost: %s\r\n\r\n"
                   % (a, DOWNLOAD, a)).encode())
        got = 0
        while got < MiB:
            data = s.recv(65536)
            if not data:
                break
            got += len(data)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()   # linger 0: an abortive close (RST), mid-body
        self.assertGreaterEqual(got, MiB)
        r = self.curl("-o", "/dev/null", "-w", "%{http_code}", self.origin.url("/echo?after-abort"))
        self.assertEqual(r.stdout, b"200", r)
        self.assertLess(self.proxy.memory_kib()["VmHWM"], RSS_LIMIT_KIB)

    def test_upload_64mib_chunked(self):
        self.upload("-H", "Transfer-Encoding: chunked")


if __name__ == "__main__":
    harness.main()
