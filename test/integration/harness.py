"""Shared harness for the Interpose integration tests.

Starts origin servers (origin.py, as subprocesses) and the proxy binary with a
generated YAML config, and offers curl / raw-socket / RSS helpers.

The proxy binary comes from `--interpose PATH` on the test's command line
(removed from sys.argv before unittest sees it), else $INTERPOSE_BIN, else
bazel-bin/source/exe/interpose in the workspace.

All traffic goes to 127.0.0.1. Where possible the proxy runs in its own mount
namespace with /etc/resolv.conf pointing at 127.0.0.1, so that even the DNS
failure test (host nonexistent.invalid) sends nothing off the machine.

A missing part of the test environment (a package, a tool, `unshare -m`) fails the
test that needs it, naming the part and how to get it; it is skipped only when
INTERPOSE_ALLOW_SKIP=1 is set (see require()). main() prints "SKIPPED: N tests (...)"
after unittest's summary whenever a test was skipped.
"""

import functools
import json
import os
import re
import signal
import socket
import ssl
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


# ---------------------------------------------------------------- missing parts

ALLOW_SKIP_ENV = "INTERPOSE_ALLOW_SKIP"
INSTALL_HINT = "run tools/install_deps.sh"
UNSHARE_HINT = "run the tests as root on a kernel that allows mount namespaces"
H2_MISSING = "python3-h2 is missing (%s cannot import h2)" % sys.executable
HTTPX_MISSING = "python3-httpx is missing (no python3 can import httpx)"


class MissingPart(AssertionError):
    """A part of the test environment is missing (see require())."""


def skips_allowed():
    return os.environ.get(ALLOW_SKIP_ENV) == "1"


def skip_or_fail(what, how=INSTALL_HINT):
    """The one policy for a missing part of the environment (a package, a tool, a kernel
    feature): a test that cannot run must not pass. Fails with "WHAT: HOW, or set
    INTERPOSE_ALLOW_SKIP=1 to skip"; raises unittest.SkipTest only when that variable is 1."""
    if skips_allowed():
        raise unittest.SkipTest(what)
    raise MissingPart("%s: %s, or set %s=1 to skip (bazel test --test_env=%s=1)"
                      % (what, how, ALLOW_SKIP_ENV, ALLOW_SKIP_ENV))


def require(condition, what, how=INSTALL_HINT):
    """skip_or_fail(what, how) unless condition. Call it in a test or in setUpClass."""
    if not condition:
        skip_or_fail(what, how)


def needs(condition, what, how=INSTALL_HINT):
    """Decorator form of require() for a test method or a TestCase class (a class fails
    as a whole, in setUpClass)."""
    def decorate(obj):
        if condition:
            return obj
        if skips_allowed():
            return unittest.skip(what)(obj)
        if isinstance(obj, type):
            obj.setUpClass = classmethod(lambda cls: skip_or_fail(what, how))
            return obj

        @functools.wraps(obj)
        def test(*args, **kw):
            skip_or_fail(what, how)
        return test
    return decorate


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

    def __init__(self, tls_cert=None, tls_key=None, bind="127.0.0.1", client_ca=None,
                 tls12_only=False):
        cmd = [sys.executable, os.path.join(HERE, "origin.py"), "--bind", bind]
        if tls_cert:
            cmd += ["--tls-cert", tls_cert, "--tls-key", tls_key]
        if tls12_only:
            cmd.append("--tls12-only")
        if client_ca:
            cmd += ["--client-ca", client_ca]
        self.host = bind
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=clean_env())
        line = _readline_with_timeout(self.proc.stdout, START_TIMEOUT)
        m = re.match(rb"ORIGIN_PORT (\d+) CONTROL_PORT (\d+)", line or b"")
        if not m:
            self.stop()
            raise RuntimeError("origin did not start: %r" % line)
        self.port = int(m.group(1))
        self.control_port = int(m.group(2))
        self.authority = "%s:%d" % (url_host(bind), self.port)

    def url(self, path, scheme="http", host=None):
        return "%s://%s:%d%s" % (scheme, url_host(host or self.host), self.port, path)

    def control(self, target):
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=5) as s:
            s.sendall(b"GET %s HTTP/1.1\r\nHost: control\r\nConnection: close\r\n\r\n"
                      % target.encode())
            return read_response(s).body

    def stats(self):
        return json.loads(self.control("/stats"))

    def fail_handshakes(self, n):
        """The next n TLS connections are dropped right after their ClientHello."""
        self.control("/fail_handshakes?n=%d" % n)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()          # origin exits on stdin EOF
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()


def url_host(host):
    """'::1' -> '[::1]' for URLs and authorities; names and IPv4 unchanged."""
    return "[%s]" % host if ":" in host and not host.startswith("[") else host


def _readline_with_timeout(f, timeout):
    out = []
    t = threading.Thread(target=lambda: out.append(f.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return out[0] if out else None


def _openssl(directory, *args, stdin=None):
    r = subprocess.run(["openssl"] + list(args), cwd=directory, input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), r.stderr.decode()))
    return r.stdout


def _san_line(dns_names, ips):
    return ",".join(["DNS:%s" % n for n in dns_names] + ["IP:%s" % i for i in ips])


def make_ca(directory, stem="testca", cn="Interpose Test CA"):
    """A self-signed CA (RSA 2048, 2 days). Returns (cert_pem, key_pem) paths."""
    _openssl(directory, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", stem + ".key", "-out", stem + ".pem", "-subj", "/CN=" + cn,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return os.path.join(directory, stem + ".pem"), os.path.join(directory, stem + ".key")


def make_leaf(directory, stem, ca_pem, ca_key, cn="localhost", dns_names=("localhost",),
              ips=("127.0.0.1",), expired=False, eku="serverAuth"):
    """A server certificate signed by (ca_pem, ca_key). expired=True makes one
    that was valid in January 2020 only (with `openssl ca`, which can set dates
    in the past). Returns (cert_pem, key_pem) paths."""
    _openssl(directory, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", stem + ".key",
             "-out", stem + ".csr", "-subj", "/CN=" + cn)
    ext = os.path.join(directory, stem + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\n"
                "basicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=%s\n" % (_san_line(dns_names, ips), eku))
    if not expired:
        _openssl(directory, "x509", "-req", "-in", stem + ".csr", "-CA", ca_pem, "-CAkey", ca_key,
                 "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", stem + ".pem")
    else:
        db = os.path.join(directory, stem + ".cadb")
        os.makedirs(db, exist_ok=True)
        open(os.path.join(db, "index.txt"), "w").close()
        with open(os.path.join(db, "serial"), "w") as f:
            f.write("1000\n")
        conf = os.path.join(directory, stem + ".ca.cnf")
        with open(conf, "w") as f:
            f.write("[ca]\ndefault_ca = test\n"
                    "[test]\ndir = %s\ndatabase = $dir/index.txt\nserial = $dir/serial\n"
                    "new_certs_dir = $dir\ndefault_md = sha256\npolicy = any\n"
                    "unique_subject = no\ncopy_extensions = none\n"
                    "[any]\ncommonName = supplied\n" % db)
        _openssl(directory, "ca", "-batch", "-config", conf, "-cert", ca_pem, "-keyfile", ca_key,
                 "-in", stem + ".csr", "-out", stem + ".pem", "-extfile", ext, "-notext",
                 "-startdate", "20200101000000Z", "-enddate", "20200201000000Z")
    return os.path.join(directory, stem + ".pem"), os.path.join(directory, stem + ".key")


def make_self_signed(directory, stem, cn="localhost", dns_names=("localhost",), ips=("127.0.0.1",)):
    """A self-signed server certificate (no CA). Returns (cert_pem, key_pem)."""
    _openssl(directory, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", stem + ".key", "-out", stem + ".pem", "-subj", "/CN=" + cn,
             "-addext", "subjectAltName=" + _san_line(dns_names, ips),
             "-addext", "basicConstraints=critical,CA:FALSE",
             "-addext", "extendedKeyUsage=serverAuth")
    return os.path.join(directory, stem + ".pem"), os.path.join(directory, stem + ".key")


def make_test_pki(directory, dns_names=("localhost",), ips=("127.0.0.1",)):
    """Test CA + server cert (by default for localhost/127.0.0.1), made with the
    openssl CLI.

    Returns (ca_pem, server_cert_pem, server_key_pem)."""
    ca_pem, ca_key = make_ca(directory, "testca", "Interpose Test CA")
    cert, key = make_leaf(directory, "server", ca_pem, ca_key, "localhost", dns_names, ips)
    return ca_pem, cert, key


def cert_info(cert):
    """Parses one certificate (PEM text/bytes or DER bytes) with the openssl CLI.
    Returns {'subject', 'issuer', 'san': [..], 'sha256', 'not_after', 'pem'}; names in
    openssl's RFC 2253 form, SAN entries as 'DNS:x' / 'IP Address:x'."""
    if isinstance(cert, str):
        cert = cert.encode()
    inform = "PEM" if cert.lstrip().startswith(b"-----BEGIN") else "DER"
    out = _openssl(None, "x509", "-inform", inform, "-noout", "-nameopt", "RFC2253",
                   "-subject", "-issuer", "-enddate", "-fingerprint", "-sha256",
                   "-ext", "subjectAltName", stdin=cert).decode()
    info = {"san": []}
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("subject="):
            info["subject"] = line[len("subject="):].strip()
        elif line.startswith("issuer="):
            info["issuer"] = line[len("issuer="):].strip()
        elif line.startswith("notAfter="):
            info["not_after"] = line[len("notAfter="):].strip()
        elif "Fingerprint=" in line:
            info["sha256"] = line.split("=", 1)[1].strip().replace(":", "").lower()
        elif line.startswith("X509v3 Subject Alternative Name") and i + 1 < len(lines):
            info["san"] = [x.strip() for x in lines[i + 1].split(",") if x.strip()]
    return info


def common_name(rfc2253_name):
    """'CN=Interpose CA (vm) 1a2b,O=Interpose' -> 'Interpose CA (vm) 1a2b'."""
    m = re.search(r"(?:^|,)CN=((?:[^,\\]|\\.)*)", rfc2253_name)
    return m.group(1) if m else None


def cert_subject(pem_path):
    """RFC 2253 subject of a PEM certificate file (to compare with issuers)."""
    with open(pem_path, "rb") as f:
        return cert_info(f.read())["subject"]


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


def http_listener_config(port, hcm_config="{}"):
    """One loopback listener with one http_connection_manager whose config is the YAML text
    hcm_config (a flow map, or a block already indented by 14 spaces after a newline)."""
    return """listeners:
  - name: proxy
    address: 127.0.0.1:%d
    filter_chains:
      - filters:
          - name: http_connection_manager
            config: %s
""" % (port, hcm_config.rstrip("\n"))


def intercept_config(port, ca_cert, ca_key, upstream_ca=None, verify=True, access_log=None,
                     passthrough_names=("pinned.localhost", "*.pinned.test"), learned_chain=True,
                     remember_rejections="1h", cache_capacity=10000, generate_if_missing=True,
                     handshake_timeout=None, connect_timeout="2s", response_timeout="5s",
                     drain_timeout="2s", client_cert=None, client_key=None, alpn=None,
                     session_cache_size=None, outer_access_log=None, blocked_hosts=(),
                     block_outer_only=False):
    """A config that intercepts TLS in CONNECT tunnels with the `ca` cert provider:
    chains 'passthrough' (passthrough_names, tcp_proxy), 'learned' (hosts whose clients
    rejected our certificate, tcp_proxy), 'intercept' (tls_intercept + HTTP with an
    access log and a router whose upstream TLS trusts upstream_ca, or the system store
    when None; verify=False turns verification off), then plain HTTP proxying.
    alpn: protocols tls_intercept offers (e.g. ("h2", "http/1.1")); None keeps its default.
    session_cache_size: the router's upstream_tls.session_cache_size (None: its default).
    outer_access_log: a default-format text access log for the plain HTTP chain (where the
    CONNECT requests are logged). blocked_hosts: both HTTP chains answer these hosts with a
    local 403 whose body is "blocked by interpose" (block_outer_only: only the plain chain,
    where CONNECT requests are handled)."""
    q = json.dumps        # YAML accepts JSON strings: paths with odd bytes stay intact
    lines = [
        "drain_timeout: %s" % drain_timeout,
        "cert_providers:",
        "  - name: ca",
        "    ca: { cert: %s, key: %s, generate_if_missing: %s, cache: { capacity: %d } }"
        % (q(ca_cert), q(ca_key), "true" if generate_if_missing else "false", cache_capacity),
        "listeners:",
        "  - name: proxy",
        "    address: 127.0.0.1:%d" % port,
        "    filter_chains:",
    ]
    if passthrough_names:
        lines += [
            "      - name: passthrough",
            "        match: { tunneled: true, server_names: [%s] }"
            % ", ".join(q(n) for n in passthrough_names),
            "        filters: [ { name: tcp_proxy, config: { connect_timeout: %s } } ]"
            % connect_timeout,
        ]
    if learned_chain:
        lines += [
            "      - name: learned",
            "        match: { tunneled: true, interception_rejected: true }",
            "        filters: [ { name: tcp_proxy, config: { connect_timeout: %s } } ]"
            % connect_timeout,
        ]
    tls = ["cert_provider: ca", "remember_rejections: %s" % remember_rejections]
    if handshake_timeout:
        tls.append("handshake_timeout: %s" % handshake_timeout)
    if alpn:
        tls.append("alpn: [%s]" % ", ".join(q(p) for p in alpn))
    upstream = []
    if upstream_ca:
        upstream.append("ca_file: %s" % q(upstream_ca))
    if not verify:
        upstream.append("verify: false")
    if client_cert:
        upstream.append("client_cert: %s, client_key: %s" % (q(client_cert), q(client_key)))
    if session_cache_size is not None:
        upstream.append("session_cache_size: %d" % session_cache_size)
    router = ["connect_timeout: %s" % connect_timeout, "response_timeout: %s" % response_timeout]
    if upstream:
        router.append("upstream_tls: { %s }" % ", ".join(upstream))
    lines += [
        "      - name: intercept",
        "        match: { tunneled: true }",
        "        filters:",
        "          - name: tls_intercept",
        "            config: { %s }" % ", ".join(tls),
        "          - name: http_connection_manager",
        "            config:",
        "              http_filters:",
    ]
    if access_log:
        lines.append("                - { name: access_log, config: { path: %s, format: json } }"
                     % q(access_log))
    block_filter, block_routes = [], []
    if blocked_hosts:
        block_filter = ["                - name: local_reply"]
        block_routes = [
            "              route_config:",
            "                virtual_hosts:",
            "                  - name: blocked",
            "                    domains: [%s]" % ", ".join(q(h) for h in blocked_hosts),
            "                    routes:",
            "                      - per_filter_config:",
            "                          local_reply: { status: 403, body: \"blocked by interpose\\n\" }",
            "                  - { name: rest, domains: [\"*\"], routes: [ {} ] }",
        ]
    inner_block = ([], []) if block_outer_only else (block_filter, block_routes)
    lines += inner_block[0] + [
        "                - name: router",
        "                  config: { %s }" % ", ".join(router),
    ] + inner_block[1] + [
        "      - filters:",
        "          - name: http_connection_manager",
        "            config:",
        "              http_filters:",
    ]
    if outer_access_log:
        lines.append("                - { name: access_log, config: { path: %s } }" % q(outer_access_log))
    lines += block_filter + [
        "                - name: router",
        "                  config: { connect_timeout: %s, response_timeout: %s }"
        % (connect_timeout, response_timeout),
    ] + block_routes
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

    def __init__(self, concurrency=2, log_level="info", config=None, hosts=None, admin=None, **config_kw):
        """config: None (proxy_config(port, **config_kw)) or a function port -> YAML text.
        hosts: names (or {name: address}) for a private /etc/hosts of the proxy, mapped
        to 127.0.0.1 by default; needs the mount namespace (else require() fails).
        admin: None (no admin server), True, or a dict of `admin:` keys (token, token_file,
        address; address defaults to 127.0.0.1 on a free port), appended to the config;
        self.admin_address is then its IP:PORT (else None)."""
        self.dir = tmpdir("interpose")
        self.port = free_port()
        self.address = "127.0.0.1:%d" % self.port
        self.config_path = os.path.join(self.dir, "interpose.yaml")
        text = config(self.port) if config else proxy_config(self.port, **config_kw)
        self.admin_address = None
        if admin:
            keys = dict(admin) if isinstance(admin, dict) else {}
            keys.setdefault("address", "127.0.0.1:%d" % free_port())
            self.admin_address = keys["address"]
            text = text.rstrip("\n") + "\nadmin:\n" + "".join(
                "  %s: %s\n" % (k, json.dumps(v)) for k, v in keys.items())
        with open(self.config_path, "w") as f:
            f.write(text)
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self._stderr = open(self.stderr_path, "wb")
        cmd = [interpose_bin(), "-c", self.config_path, "--mode", "serve",
               "--concurrency", str(concurrency), "--log-level", log_level]
        self.dns_isolated = dns_isolation_available()
        if hosts and not self.dns_isolated:
            self._stderr.close()
            skip_or_fail("a private /etc/hosts for the proxy needs `unshare -m` and "
                         "`mount --bind`, which failed here", UNSHARE_HINT)
        if self.dns_isolated:
            rc = os.path.join(self.dir, "resolv.conf")
            with open(rc, "w") as f:
                # Nothing listens on 127.0.0.1:53: every DNS lookup fails at once.
                f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
            # unshare and sh exec, so self.proc.pid is the proxy's own pid.
            mounts = 'mount --bind "$0" /etc/resolv.conf && '
            if hosts:
                hosts_path = os.path.join(self.dir, "hosts")
                if not isinstance(hosts, dict):
                    hosts = {name: "127.0.0.1" for name in hosts}
                with open(hosts_path, "w") as f:
                    f.write("127.0.0.1 localhost\n")
                    for name, addr in hosts.items():
                        f.write("%s %s\n" % (addr, name))
                mounts += 'mount --bind "%s" /etc/hosts && ' % hosts_path
            cmd = ["unshare", "-m", "sh", "-c", mounts + 'exec "$@"', rc] + cmd
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

    @property
    def admin_url(self):
        return "http://" + self.admin_address

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


def open_tunnel(proxy, host, port, timeout=10.0):
    """CONNECT host:port through the proxy. Returns (socket, status, reader); on 200
    the socket is at the start of the tunnel (reader.buf holds nothing)."""
    authority = "%s:%d" % (url_host(host), port)
    s = connect(proxy, timeout)
    try:
        s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority)).encode())
        reader = SocketReader(s)
        head = reader.read_until(b"\r\n\r\n", time.monotonic() + timeout).decode("latin-1")
        status = int(head.split(" ", 2)[1])
    except BaseException:
        s.close()
        raise
    return s, status, reader


def tls_via_proxy(proxy, host, port, server_hostname=None, cafile=None, timeout=10.0,
                  check_hostname=None, ctx=None, session=None):
    """CONNECT host:port, then a TLS handshake inside the tunnel. server_hostname
    defaults to host (Python sends no SNI for IP literals, as browsers); with cafile
    the chain is verified against it (and the name, unless check_hostname=False),
    without it nothing is verified. ctx: an ssl.SSLContext to use instead (session, an
    earlier connection's, offered for resumption, needs the same ctx). Returns the
    SSLSocket; ssl errors propagate."""
    ctx = ctx or client_context(cafile, check_hostname)
    s, status, reader = open_tunnel(proxy, host, port, timeout)
    if status != 200:
        s.close()
        raise ConnectionError("CONNECT %s:%d answered %d" % (host, port, status))
    if server_hostname is None:
        # Python's ssl never sends an IP literal as SNI, but checks it against IP SANs.
        server_hostname = host.strip("[]")
    try:
        s.settimeout(timeout)
        return ctx.wrap_socket(s, server_hostname=server_hostname or None, session=session)
    except BaseException:
        s.close()
        raise


def client_context(cafile=None, check_hostname=None):
    """A TLS client context verifying against cafile (nothing without it)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
        ctx.check_hostname = True if check_hostname is None else check_hostname
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _is_ip(host):
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host.strip("[]"))
        return True
    except OSError:
        return False


def peer_cert_info(tls_sock):
    return cert_info(tls_sock.getpeercert(binary_form=True))


def https_request(tls_sock, method, host_header, target, body=b"", headers=(), timeout=10.0):
    """One HTTP/1.1 request over an established TLS socket; returns Response."""
    head = ["%s %s HTTP/1.1" % (method, target), "Host: %s" % host_header]
    head += ["%s: %s" % kv for kv in headers]
    if body or method in ("POST", "PUT"):
        head.append("Content-Length: %d" % len(body))
    tls_sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    reader = getattr(tls_sock, "_harness_reader", None)
    if reader is None:
        reader = SocketReader(tls_sock)
        tls_sock._harness_reader = reader
    return read_response(reader, head_request=(method == "HEAD"), timeout=timeout)


def s_client(proxy, host, port, servername=None, cafile=None, extra=(), timeout=20):
    """`openssl s_client -proxy` through the proxy; stdin is empty so it closes right
    after the handshake. Returns CompletedProcess with text stdout/stderr."""
    address = proxy.address if isinstance(proxy, Proxy) else proxy
    cmd = ["openssl", "s_client", "-proxy", address, "-connect", "%s:%d" % (url_host(host), port),
           "-showcerts"]
    if servername:
        cmd += ["-servername", servername]
    else:
        cmd += ["-noservername"]
    if cafile:
        cmd += ["-CAfile", cafile]
    cmd += list(extra)
    return subprocess.run(cmd, input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, env=clean_env())


def pem_blocks(text):
    """The PEM certificates in text, in order."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)


def wait_for_log(proxy, needle, timeout=5.0):
    """True once `needle` appears in the proxy's stderr (polls, bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in proxy.log():
            return True
        time.sleep(0.05)
    return needle in proxy.log()


def read_json_lines(path, timeout=3.0, at_least=1):
    """JSON lines of an access log, waiting (bounded) for at_least lines."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(path) as f:
                rows = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            rows = []
        if len(rows) >= at_least or time.monotonic() >= deadline:
            return rows
        time.sleep(0.05)


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
    """unittest.main(), then "SKIPPED: N tests (reasons)" when any test was skipped
    (.ci/run adds these up from the Bazel test logs)."""
    result = unittest.main(verbosity=2, exit=False).result
    if result.skipped:
        reasons = sorted(set(reason for _, reason in result.skipped))
        print("SKIPPED: %d test%s (%s)" % (len(result.skipped), "" if len(result.skipped) == 1
                                           else "s", "; ".join(reasons)),
              file=sys.stderr, flush=True)
    sys.exit(0 if result.wasSuccessful() else 1)


# ---------------------------------------------------------------- TLS interception

# Names the test origin's certificate carries (besides localhost, 127.0.0.1, ::1), so
# that passed-through connections verify against the origin's CA.
ORIGIN_DNS_NAMES = ("localhost", "pinned.localhost", "app.pinned.test", "pinme.test",
                    "pinme2.test", "pinme3.test", "pinme4.test", "pinme5.test")
# Names the proxy resolves to 127.0.0.1 through its private /etc/hosts.
TEST_HOSTS = (["h%d.test" % i for i in range(1, 51)]
              + ["pinned.localhost", "app.pinned.test", "pinned.test", "wrong.test",
                 "pinme.test", "pinme2.test", "pinme3.test", "pinme4.test", "pinme5.test",
                 "other.test"])


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class InterceptTestCase(unittest.TestCase):
    """A TLS origin (cert from a test CA for ORIGIN_DNS_NAMES, 127.0.0.1, ::1), and a
    proxy that intercepts with its own CA (self.proxy_ca, generated by the proxy) and
    trusts the origin's CA upstream. The proxy's /etc/hosts maps TEST_HOSTS to
    127.0.0.1. One proxy per class unless proxy_per_test."""

    intercept_kwargs = {}
    proxy_per_test = False
    concurrency = 2
    log_level = "info"
    admin = None            # Proxy(admin=...): an admin server for the proxy

    @classmethod
    def setUpClass(cls):
        cls.pki_dir = tmpdir("pki")
        ips = ("127.0.0.1", "::1") if ipv6_loopback_available() else ("127.0.0.1",)
        cls.origin_ca, cert, key = make_test_pki(cls.pki_dir, ORIGIN_DNS_NAMES, ips)
        cls.origin_cert, cls.origin_key = cert, key
        cls.tls_origin = OriginProcess(tls_cert=cert, tls_key=key)
        cls.ca_dir = tmpdir("proxyca")
        cls.proxy_ca = os.path.join(cls.ca_dir, "ca.pem")
        cls.proxy_ca_key = os.path.join(cls.ca_dir, "ca.key")
        cls.access_log = os.path.join(cls.ca_dir, "access.log")
        if cls.proxy_per_test:
            return
        try:
            cls.proxy = cls.start_proxy()
        except BaseException:
            cls.tls_origin.stop()
            raise

    @classmethod
    def start_proxy(cls, **overrides):
        kw = dict(upstream_ca=cls.origin_ca, access_log=cls.access_log)
        kw.update(cls.intercept_kwargs)
        kw.update(overrides)
        return Proxy(concurrency=cls.concurrency, log_level=cls.log_level, hosts=TEST_HOSTS, admin=cls.admin,
                     config=lambda port: intercept_config(port, cls.proxy_ca, cls.proxy_ca_key, **kw))

    @classmethod
    def tearDownClass(cls):
        try:
            if not cls.proxy_per_test:
                stop_and_check(cls.proxy)
        finally:
            cls.tls_origin.stop()

    def setUp(self):
        if self.proxy_per_test:
            self.proxy = self.start_proxy()

    def tearDown(self):
        if self.proxy_per_test:
            stop_and_check(self.proxy)

    def curl(self, *args, **kw):
        return curl(self.proxy, *args, **kw)

    def https_url(self, path, host="localhost", origin=None):
        origin = origin or self.tls_origin
        return "https://%s:%d%s" % (url_host(host), origin.port, path)

    @property
    def proxy_ca_subject(self):
        return cert_subject(self.proxy_ca)

    @property
    def origin_ca_subject(self):
        return cert_subject(self.origin_ca)

    def assertProxyServing(self):
        """An intercepted HTTPS GET still works (used after error cases)."""
        self.assertTrue(self.proxy.alive(), "proxy died:\n%s" % self.proxy.log()[-3000:])
        r = self.curl("--cacert", self.proxy_ca, "-o", "/dev/null", "-w", "%{http_code}",
                      self.https_url("/status/200"))
        self.assertEqual(r.stdout, b"200", "proxy stopped serving: %r\n%s"
                         % (r.stderr, self.proxy.log()[-2000:]))
