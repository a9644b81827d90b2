"""Shared harness for the Interpose integration tests.

Starts origin servers (origin.py, as subprocesses) and the proxy binary with a
generated YAML config, and offers curl / raw-socket / RSS helpers.

The proxy binary comes from `--interpose PATH` on the test's command line
(removed from sys.argv before unittest sees it), else $INTERPOSE_BIN, else
bazel-bin/source/exe/interpose in the workspace.

All traffic goes to 127.0.0.1. Where possible the proxy runs in its own mount
namespace with /etc/resolv.conf pointing at 127.0.0.1, so that even the DNS
failure test (host nonexistent.invalid) sends nothing off the machine.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
WORKSPACE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import origin as origin_mod  # noqa: E402,F401  (pattern helpers, used by the tests)

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0       # drain_timeout (2 s) plus slack


def _take_interpose_arg():
    path = None
    argv = [sys.argv[0]]
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        if args[i] == "--interpose" and i + 1 < len(args):
            path = args[i + 1]
            i += 2
        elif args[i].startswith("--interpose="):
            path = args[i].split("=", 1)[1]
            i += 1
        else:
            argv.append(args[i])
            i += 1
    sys.argv[:] = argv
    return path


_INTERPOSE_ARG = _take_interpose_arg()


def interpose_bin():
    path = (_INTERPOSE_ARG or os.environ.get("INTERPOSE_BIN")
            or os.path.join(WORKSPACE, "bazel-bin/source/exe/interpose"))
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError("proxy binary not found/executable: %s" % path)
    return path


def tmpdir(prefix):
    return tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("TEST_TMPDIR"))


def clean_env():
    """Environment for children: no proxy variables that could redirect curl."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    return env


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port():
    """A loopback port with nothing listening (connections are refused)."""
    return free_port()


# ---------------------------------------------------------------- origins

class OriginProcess:
    """origin.py running as a subprocess. stats() uses the uncounted control port."""

    def __init__(self, tls_cert=None, tls_key=None):
        cmd = [sys.executable, os.path.join(HERE, "origin.py")]
        if tls_cert:
            cmd += ["--tls-cert", tls_cert, "--tls-key", tls_key]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=clean_env())
        line = _readline_with_timeout(self.proc.stdout, START_TIMEOUT)
        m = re.match(rb"ORIGIN_PORT (\d+) CONTROL_PORT (\d+)", line or b"")
        if not m:
            self.stop()
            raise RuntimeError("origin did not start: %r" % line)
        self.port = int(m.group(1))
        self.control_port = int(m.group(2))
        self.authority = "127.0.0.1:%d" % self.port

    def url(self, path, scheme="http", host="127.0.0.1"):
        return "%s://%s:%d%s" % (scheme, host, self.port, path)

    def stats(self):
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=5) as s:
            s.sendall(b"GET /stats HTTP/1.1\r\nHost: control\r\nConnection: close\r\n\r\n")
            resp = read_response(s)
        return json.loads(resp.body)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()          # origin exits on stdin EOF
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()


def _readline_with_timeout(f, timeout):
    out = []
    t = threading.Thread(target=lambda: out.append(f.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return out[0] if out else None


def make_test_pki(directory):
    """Test CA + server cert for localhost/127.0.0.1, made with the openssl CLI.

    Returns (ca_pem, server_cert_pem, server_key_pem)."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=directory, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "testca.key", "-out", "testca.pem", "-subj", "/CN=Interpose Test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=localhost")
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "basicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "testca.pem", "-CAkey", "testca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.pem")
    return tuple(os.path.join(directory, n) for n in ("testca.pem", "server.pem", "server.key"))


# ---------------------------------------------------------------- proxy

def proxy_config(port, access_log=None, max_request_headers="64KiB",
                 request_headers_timeout="2s", response_timeout="3s",
                 connect_timeout="2s", drain_timeout="2s"):
    """The YAML config used by the tests (generated as text: no YAML library)."""
    lines = [
        "drain_timeout: %s" % drain_timeout,
        "listeners:",
        "  - name: proxy",
        "    address: 127.0.0.1:%d" % port,
        "    filter_chains:",
        "      - match: { tunneled: true }",
        "        filters:",
        "          - name: tcp_proxy",
        "            config: { connect_timeout: %s }" % connect_timeout,
        "      - filters:",
        "          - name: http_connection_manager",
        "            config:",
        "              max_request_headers: %s" % max_request_headers,
        "              timeouts: { request_headers: %s }" % request_headers_timeout,
        "              http_filters:",
    ]
    if access_log:
        lines += [
            "                - name: access_log",
            "                  config: { path: %s, format: json }" % access_log,
        ]
    lines += [
        "                - name: router",
        "                  config: { connect_timeout: %s, response_timeout: %s }"
        % (connect_timeout, response_timeout),
    ]
    return "\n".join(lines) + "\n"


_DNS_ISOLATION = None


def dns_isolation_available():
    """True when `unshare -m` + bind mount works (root, mount namespaces)."""
    global _DNS_ISOLATION
    if _DNS_ISOLATION is None:
        try:
            d = tmpdir("resolv")
            rc = os.path.join(d, "resolv.conf")
            with open(rc, "w") as f:
                f.write("nameserver 127.0.0.1\n")
            r = subprocess.run(
                ["unshare", "-m", "sh", "-c",
                 'mount --bind "$0" /etc/resolv.conf && grep -q "^nameserver 127.0.0.1" /etc/resolv.conf',
                 rc], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
            _DNS_ISOLATION = r.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _DNS_ISOLATION = False
    return _DNS_ISOLATION


class Proxy:
    """The interpose binary, serving a generated config on a free loopback port."""

    def __init__(self, concurrency=2, log_level="info", **config_kw):
        self.dir = tmpdir("interpose")
        self.port = free_port()
        self.address = "127.0.0.1:%d" % self.port
        self.config_path = os.path.join(self.dir, "interpose.yaml")
        with open(self.config_path, "w") as f:
            f.write(proxy_config(self.port, **config_kw))
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self._stderr = open(self.stderr_path, "wb")
        cmd = [interpose_bin(), "-c", self.config_path, "--mode", "serve",
               "--concurrency", str(concurrency), "--log-level", log_level]
        self.dns_isolated = dns_isolation_available()
        if self.dns_isolated:
            rc = os.path.join(self.dir, "resolv.conf")
            with open(rc, "w") as f:
                # Nothing listens on 127.0.0.1:53: every DNS lookup fails at once.
                f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
            # unshare and sh exec, so self.proc.pid is the proxy's own pid.
            cmd = ["unshare", "-m", "sh", "-c",
                   'mount --bind "$0" /etc/resolv.conf && exec "$@"', rc] + cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._stderr,
                                     stderr=self._stderr, env=clean_env())
        self.pid = self.proc.pid
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("proxy exited early with %s:\n%s"
                                   % (self.proc.returncode, self.log()))
            if "listening on" in self.log() and _port_accepts(self.port):
                return
            time.sleep(0.05)
        # A proxy that accepts but never logs still counts as up (the log
        # line is checked separately by test_logs_listening where relevant).
        if _port_accepts(self.port):
            return
        self.kill()
        raise RuntimeError("proxy not ready within %ss:\n%s" % (START_TIMEOUT, self.log()))

    def log(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    @property
    def url(self):
        return "http://" + self.address

    def memory_kib(self):
        """{'VmRSS': kib, 'VmHWM': kib} from /proc/PID/status."""
        out = {}
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(rest.split()[0])
        return out

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM, wait for the drain, return the exit code (None if killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
                self._stderr.close()
                return None
        self._stderr.close()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._stderr.close()


def _port_accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------- clients

def curl(proxy, *args, timeout=30, input_bytes=None, check=False):
    """Runs curl through `proxy` (a Proxy or 'host:port'); returns CompletedProcess
    with bytes stdout/stderr. --noproxy '' stops NO_PROXY from bypassing -x."""
    address = proxy.address if isinstance(proxy, Proxy) else proxy
    cmd = ["curl", "-sS", "--noproxy", "", "-x", "http://" + address,
           "--max-time", str(timeout), "--connect-timeout", "5"] + list(args)
    return subprocess.run(cmd, input=input_bytes, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout + 10, check=check,
                          env=clean_env())


class Response:
    def __init__(self, status, reason, headers, body, version):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value) in order
        self.body = body
        self.version = version

    def header(self, name, default=None):
        vals = self.headers_named(name)
        return vals[0] if vals else default

    def headers_named(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %d %r headers=%r body=%r>" % (
            self.status, self.reason, self.headers, self.body[:300])


class SocketReader:
    """Buffered reads from a socket with an overall deadline per call."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("deadline exceeded; have %r" % self.buf[:200])
        self.sock.settimeout(remaining)
        data = self.sock.recv(256 * 1024)
        if not data:
            raise EOFError("connection closed; unparsed %r" % self.buf[:200])
        self.buf += data

    def read_until(self, delim, deadline, limit=1 << 20):
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + len(delim):]
                return out
            if len(self.buf) > limit:
                raise ValueError("no %r within %d bytes" % (delim, limit))
            self._fill(deadline)

    def read_exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_to_eof(self, deadline):
        while True:
            try:
                self._fill(deadline)
            except EOFError:
                out, self.buf = self.buf, b""
                return out


def read_response(sock_or_reader, head_request=False, timeout=10.0, skip_1xx=True):
    """Reads one HTTP/1.x response. Interim 1xx responses are skipped (and
    recorded in .interim) unless skip_1xx is False."""
    reader = sock_or_reader if isinstance(sock_or_reader, SocketReader) \
        else SocketReader(sock_or_reader)
    deadline = time.monotonic() + timeout
    interim = []
    while True:
        head = reader.read_until(b"\r\n\r\n", deadline).decode("latin-1")
        lines = head.split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        status = int(status)
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k, v.strip()))
        if 100 <= status < 200 and status != 101 and skip_1xx:
            interim.append(status)
            continue
        break
    resp = Response(status, reason, headers, b"", version)
    resp.interim = interim
    te = ",".join(resp.headers_named("Transfer-Encoding")).lower()
    cl = resp.headers_named("Content-Length")
    if head_request or status in (204, 304) or 100 <= status < 200:
        pass
    elif "chunked" in te:
        body = []
        while True:
            size = int(reader.read_until(b"\r\n", deadline).split(b";")[0], 16)
            if size == 0:
                while reader.read_until(b"\r\n", deadline):
                    pass
                break
            body.append(reader.read_exact(size, deadline))
            reader.read_until(b"\r\n", deadline)
        resp.body = b"".join(body)
    elif cl:
        resp.body = reader.read_exact(int(cl[0]), deadline)
    else:
        resp.body = reader.read_to_eof(deadline)
    return resp


def connect(proxy, timeout=10.0):
    address = proxy.address if isinstance(proxy, Proxy) else proxy
    host, port = address.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def send_and_read(proxy, data, timeout=10.0, head_request=False):
    """One request over a fresh connection; returns (Response, SocketReader).
    Caller closes reader.sock."""
    s = connect(proxy, timeout)
    s.sendall(data)
    reader = SocketReader(s)
    return read_response(reader, head_request=head_request, timeout=timeout), reader


def wait_closed(reader, timeout=5.0):
    """True if the peer closes the connection within timeout (extra bytes
    are returned too, as (closed, extra))."""
    deadline = time.monotonic() + timeout
    try:
        extra = reader.read_to_eof(deadline)
        return True, extra
    except socket.timeout:
        return False, reader.buf
    except ConnectionResetError:
        return True, reader.buf


class RssSampler:
    """Samples the proxy's VmRSS every `interval` seconds in a thread."""

    def __init__(self, proxy, interval=0.05):
        self.proxy = proxy
        self.interval = interval
        self.peak_rss = 0
        self.samples = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak_rss = max(self.peak_rss, self.proxy.memory_kib()["VmRSS"])
                self.samples += 1
            except (OSError, KeyError):
                return
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(5)


# ---------------------------------------------------------------- test base

def stop_and_check(proxy):
    """Stops the proxy; raises AssertionError unless it was alive and exited 0."""
    alive = proxy.alive()
    rc = proxy.stop()
    if not alive:
        raise AssertionError("proxy died during the tests (exit %s):\n%s"
                             % (rc, proxy.log()[-4000:]))
    if rc != 0:
        raise AssertionError("proxy exit code on SIGTERM was %s, expected 0:\n%s"
                             % (rc, proxy.log()[-4000:]))


class ProxyTestCase(unittest.TestCase):
    """One origin per test class and one proxy per class (or per test when
    proxy_per_test is set); the proxy must exit 0 on SIGTERM."""

    proxy_kwargs = {}
    proxy_per_test = False

    @classmethod
    def setUpClass(cls):
        cls.origin = OriginProcess()
        if cls.proxy_per_test:
            return
        try:
            cls.proxy = Proxy(**cls.proxy_kwargs)
        except Exception:
            cls.origin.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if not cls.proxy_per_test:
                stop_and_check(cls.proxy)
        finally:
            cls.origin.stop()

    def setUp(self):
        if self.proxy_per_test:
            self.proxy = Proxy(**self.proxy_kwargs)

    def tearDown(self):
        if self.proxy_per_test:
            stop_and_check(self.proxy)

    def curl(self, *args, **kw):
        return curl(self.proxy, *args, **kw)

    def assertProxyServing(self):
        """A plain GET still works (used after error cases)."""
        r = self.curl("-o", "/dev/null", "-w", "%{http_code}", self.origin.url("/status/200"))
        self.assertEqual(r.stdout, b"200", "proxy stopped serving: %r\n%s"
                         % (r.stderr, self.proxy.log()[-2000:]))


def main():
    unittest.main(verbosity=2)
