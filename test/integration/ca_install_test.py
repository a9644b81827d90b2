#!/usr/bin/env python3
"""`interpose ca install|uninstall` against the real stores and their real clients:

- --nss: headless Chromium (chromedriver) through the intercepting proxy refuses the page
  before install, shows it (with a certificate from our CA) after, and certutil lists the
  CA until uninstall; Firefox profiles, --nss DIR, a regenerated CA, a hand-imported copy,
  a password-protected database;
- --java: keytool sees the alias after install and not after uninstall, twice each;
- --system: only inside a private mount namespace whose /usr/local/share/ca-certificates,
  /etc/ssl/certs (a copy) and hooks directory are its own, so the machine's trust store is
  never touched: curl (no --cacert) fails, then passes after install, then fails again;
- usage errors and missing tools.

Each store starts from a state where the CA is not trusted, and that is checked first, so
that a test passing because something else already trusted the CA is not possible.
"""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
import unittest

import harness
import browser

SITE = "site.test"  # the proxy's private /etc/hosts maps it to 127.0.0.1


def ca_env(home, **extra):
    """Environment for `interpose ca`: HOME decides the CA (~/.local/share/interpose) and
    the NSS databases; nothing inherited may point elsewhere."""
    env = harness.clean_env()
    for name in ("XDG_DATA_HOME", "SUDO_USER", "SUDO_UID"):
        env.pop(name, None)
    env["HOME"] = home
    env.update(extra)
    return env


def run_ca(home, *args, prefix=(), **extra_env):
    r = subprocess.run(list(prefix) + [harness.interpose_bin(), "ca"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120, env=ca_env(home, **extra_env))
    r.out = r.stdout.decode(errors="replace")
    r.err = r.stderr.decode(errors="replace")
    return r


def new_home(prefix="home"):
    """A home directory with a fresh CA in ~/.local/share/interpose; returns (home, ca_pem)."""
    home = harness.tmpdir(prefix)
    r = run_ca(home, "init")
    assert r.returncode == 0, r.err
    return home, os.path.join(home, ".local/share/interpose/ca.pem")


def sha256_of_pem(pem_path):
    with open(pem_path, "rb") as f:
        return harness.cert_info(f.read())["sha256"]


def certutil_list(db):
    r = subprocess.run(["certutil", "-L", "-d", "sql:" + db], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    if r.returncode != 0:
        raise AssertionError("certutil -L -d sql:%s: %s" % (db, r.stderr.decode()))
    return r.stdout.decode()


def certutil(*args):
    subprocess.run(["certutil"] + list(args), check=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE, timeout=30)


def have(tool):
    return shutil.which(tool) is not None


class CaTestCase(unittest.TestCase):
    def assertRan(self, r, code=0):
        self.assertEqual(r.returncode, code, "exit %d\nstdout:\n%s\nstderr:\n%s" % (r.returncode, r.out, r.err))


# ---------------------------------------------------------------- command line

class UsageTest(CaTestCase):
    @classmethod
    def setUpClass(cls):
        cls.home, cls.ca = new_home()

    def test_no_target_is_a_usage_error_naming_the_targets(self):
        for command in ("install", "uninstall"):
            r = run_ca(self.home, command)
            self.assertRan(r, 2)
            for target in ("--system", "--nss", "--java"):
                self.assertIn(target, r.err)

    def test_help_lists_the_commands_and_targets(self):
        r = run_ca(self.home, "--help")
        self.assertRan(r)
        for word in ("install", "uninstall", "--system", "--nss [DIR]", "--java KEYSTORE", "--storepass",
                     "process list"):
            self.assertIn(word, r.out)

    def test_storepass_needs_java_and_targets_belong_to_install(self):
        self.assertRan(run_ca(self.home, "install", "--nss", "--storepass", "x"), 2)
        self.assertRan(run_ca(self.home, "show", "--nss"), 2)
        self.assertRan(run_ca(self.home, "install", "--java"), 2)

    def test_without_a_ca_says_how_to_make_one(self):
        r = run_ca(harness.tmpdir("noca"), "install", "--nss")
        self.assertRan(r, 1)
        self.assertIn("interpose ca init", r.err)

    def test_missing_certutil_is_named_and_nothing_changes(self):
        empty_path = harness.tmpdir("emptypath")  # PATH without certutil, keytool, update-ca-*
        r = run_ca(self.home, "install", "--nss", "--java", os.path.join(self.home, "ks.p12"), PATH=empty_path)
        self.assertRan(r, 1)
        self.assertIn("certutil not found", r.err)
        self.assertIn("libnss3-tools", r.err)
        self.assertIn("keytool not found", r.err)
        self.assertIn("nothing was changed", r.err)
        self.assertFalse(os.path.exists(os.path.join(self.home, ".pki")))
        self.assertFalse(os.path.exists(os.path.join(self.home, "ks.p12")))

    def test_system_without_a_known_store_tool(self):
        r = run_ca(self.home, "install", "--system", PATH=harness.tmpdir("emptypath"))
        self.assertRan(r, 1)
        self.assertIn("no supported system trust store", r.err)
        self.assertIn("update-ca-certificates", r.err)

    def test_system_needs_root(self):
        if os.geteuid() != 0:
            r = run_ca(self.home, "install", "--system")
        else:
            # Not root without dropping to another user (which Bazel's sandbox, a user
            # namespace, has none of): in a new user namespace with no mapping our uid is
            # the overflow uid, 65534. Belt and braces: should that not happen, the stores
            # the command would change are empty file systems of a private mount namespace.
            harness.require(have("unshare"), "unshare (util-linux) is missing")
            shield = ('mount -t tmpfs tmpfs %s; mount -t tmpfs tmpfs %s; mount -t tmpfs tmpfs %s; '
                      'exec unshare -U "$@"' % (LOCAL_DIR, CERTS_DIR, HOOKS_DIR))
            r = run_ca(self.home, "install", "--system",
                       prefix=["unshare", "-m", "--propagation", "private", "sh", "-ec", shield, "sh"])
        if "no supported system trust store" in r.err:
            harness.skip_or_fail("update-ca-certificates is missing", "install ca-certificates")
        self.assertRan(r, 1)
        self.assertIn("needs root", r.err)
        self.assertRegex(r.err, r"rerun it with sudo: sudo /\S+ ca install --system --dir /")


# ---------------------------------------------------------------- NSS: Chromium, Firefox

@harness.needs(have("certutil"), "certutil is missing (libnss3-tools)")
class NssTest(CaTestCase):
    """certutil-only cases: no browser, one fresh home each."""

    def nickname(self, ca):
        return "Interpose CA (%s)" % sha256_of_pem(ca)[:16]

    def test_firefox_profiles_and_chromium_together(self):
        home, ca = new_home()
        profiles = [os.path.join(home, ".mozilla/firefox", name) for name in ("a1b2.default-release", "c3d4.work")]
        for p in profiles:
            os.makedirs(p)
            certutil("-N", "--empty-password", "-d", "sql:" + p)
        os.makedirs(os.path.join(home, ".mozilla/firefox/no-db.profile"))  # no cert9.db: not a profile to change
        chromium_db = os.path.join(home, ".pki/nssdb")
        nick = self.nickname(ca)
        for db in profiles:
            self.assertNotIn(nick, certutil_list(db))
        r = run_ca(home, "install", "--nss")
        self.assertRan(r)
        self.assertIn("created the NSS database", r.out)
        for db in profiles + [chromium_db]:
            self.assertRegex(certutil_list(db), re.escape(nick) + r"\s+C,,")
            self.assertIn("sql:%s" % db, r.out)
        self.assertIn("Firefox profile a1b2.default-release", r.out)
        self.assertFalse(os.path.exists(os.path.join(home, ".mozilla/firefox/no-db.profile/cert9.db")))

        r = run_ca(home, "install", "--nss")
        self.assertRan(r)
        self.assertEqual(r.out.count("already trusted"), 3, r.out)

        r = run_ca(home, "uninstall", "--nss")
        self.assertRan(r)
        self.assertEqual(r.out.count("removed"), 3, r.out)
        for db in profiles + [chromium_db]:
            self.assertNotIn(nick, certutil_list(db))
        r = run_ca(home, "uninstall", "--nss")
        self.assertRan(r)
        self.assertEqual(r.out.count("nothing to remove"), 3, r.out)

    def test_nss_dir_changes_only_that_database(self):
        home, ca = new_home()
        db = harness.tmpdir("nssdb")
        certutil("-N", "--empty-password", "-d", "sql:" + db)
        r = run_ca(home, "install", "--nss", "sql:" + db)
        self.assertRan(r)
        self.assertRegex(certutil_list(db), re.escape(self.nickname(ca)) + r"\s+C,,")
        self.assertFalse(os.path.exists(os.path.join(home, ".pki")), "--nss DIR must not touch Chromium's")
        r = run_ca(home, "uninstall", "--nss=" + db)
        self.assertRan(r)
        self.assertNotIn("Interpose", certutil_list(db))
        self.assertRan(run_ca(home, "install", "--nss", os.path.join(db, "missing")), 1)

    def test_regenerated_ca_is_added_beside_and_uninstall_takes_only_the_current(self):
        home, first = new_home()
        db = os.path.join(home, ".pki/nssdb")
        self.assertRan(run_ca(home, "install", "--nss"))
        old_nick = self.nickname(first)
        self.assertRan(run_ca(home, "init", "--force"))
        new_nick = self.nickname(first)  # same path, new certificate
        self.assertNotEqual(old_nick, new_nick)
        r = run_ca(home, "install", "--nss")
        self.assertRan(r)
        self.assertIn("added \"%s\"" % new_nick, r.out)
        self.assertIn("another Interpose CA", r.out)
        listing = certutil_list(db)
        self.assertIn(old_nick, listing)
        self.assertIn(new_nick, listing)
        r = run_ca(home, "uninstall", "--nss")
        self.assertRan(r)
        listing = certutil_list(db)
        self.assertNotIn(new_nick, listing)
        self.assertIn(old_nick, listing, "uninstall must remove the current CA only")

    def test_a_copy_imported_by_hand_is_found_under_its_own_nickname(self):
        home, ca = new_home()
        db = os.path.join(home, ".pki/nssdb")
        os.makedirs(db)
        certutil("-N", "--empty-password", "-d", "sql:" + db)
        certutil("-A", "-d", "sql:" + db, "-n", "my proxy", "-t", ",,", "-i", ca)  # present, not trusted
        r = run_ca(home, "install", "--nss")
        self.assertRan(r)
        self.assertIn("trust of \"my proxy\" set to C,,", r.out)
        self.assertRegex(certutil_list(db), r"my proxy\s+C,,")
        self.assertNotIn(self.nickname(ca), certutil_list(db))
        r = run_ca(home, "uninstall", "--nss")
        self.assertRan(r)
        self.assertIn("removed \"my proxy\"", r.out)
        self.assertNotIn("my proxy", certutil_list(db))

    def test_password_protected_database_fails_cleanly(self):
        home, ca = new_home()
        db = harness.tmpdir("nsspw")
        pwfile = os.path.join(db, "pw.txt")
        with open(pwfile, "w") as f:
            f.write("s3cret-pw\n")
        certutil("-N", "-d", "sql:" + db, "-f", pwfile)
        r = run_ca(home, "install", "--nss", db)
        self.assertRan(r, 1)
        self.assertIn("certutil", r.err)
        self.assertIn("SEC_ERROR_BAD_PASSWORD", r.err)  # certutil's own words
        self.assertIn("never asks", r.err)
        self.assertNotIn("Interpose", certutil_list(db), "a failed install left the certificate behind")


@harness.needs(have("certutil"), "certutil is missing (libnss3-tools)")
class ChromiumTest(CaTestCase):
    """The whole path a user takes: Chromium through the intercepting proxy, before and
    after `interpose ca install --nss`, then after `uninstall --nss`."""

    @classmethod
    def setUpClass(cls):
        browser.require()
        cls.home, cls.ca = new_home("chromium-home")
        ca_dir = os.path.dirname(cls.ca)
        pki = harness.tmpdir("pki")
        origin_ca, cert, key = harness.make_test_pki(pki, dns_names=(SITE,), ips=())
        cls.origin = harness.OriginProcess(tls_cert=cert, tls_key=key)
        try:
            # No learned passthrough: after the refused first load the proxy must keep
            # intercepting the host, not tunnel it to the origin's own certificate.
            cls.proxy = harness.Proxy(hosts=[SITE], config=lambda port: harness.intercept_config(
                port, cls.ca, os.path.join(ca_dir, "ca.key"), upstream_ca=origin_ca, learned_chain=False,
                passthrough_names=()))
        except BaseException:
            cls.origin.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            harness.stop_and_check(cls.proxy)
        finally:
            cls.origin.stop()

    def load(self, path):
        with browser.Chromium(home=self.home, proxy=self.proxy.address) as chrome:
            return chrome.load("https://%s:%d%s" % (SITE, self.origin.port, path))

    def assertRefused(self, page):
        self.assertEqual(page.error, "net::ERR_CERT_AUTHORITY_INVALID", page)
        self.assertNotIn('"method": "GET"', page.text)

    def test_chromium_trusts_the_ca_after_install_and_not_after_uninstall(self):
        db = os.path.join(self.home, ".pki/nssdb")
        our_cn = harness.common_name(harness.cert_subject(self.ca))

        self.assertRefused(self.load("/echo?before=1"))  # negative control: not trusted yet

        r = run_ca(self.home, "install", "--nss")
        self.assertRan(r)
        self.assertIn("sql:%s (Chromium): added" % db, r.out)
        nick = "Interpose CA (%s)" % sha256_of_pem(self.ca)[:16]
        self.assertRegex(certutil_list(db), re.escape(nick) + r"\s+C,,")
        self.assertIn("already trusted", run_ca(self.home, "install", "--nss").out)

        page = self.load("/echo?after=install")
        self.assertIsNone(page.error, page)
        self.assertIn('"target": "/echo?after=install"', page.text, page)  # the origin's answer
        self.assertEqual(page.issuer, our_cn, "the page's certificate must be one our CA minted")

        r = run_ca(self.home, "uninstall", "--nss")
        self.assertRan(r)
        self.assertIn("removed \"%s\"" % nick, r.out)
        self.assertNotIn(nick, certutil_list(db))
        self.assertRefused(self.load("/echo?after=uninstall"))


# ---------------------------------------------------------------- Java

@harness.needs(have("keytool"), "keytool is missing (openjdk-17-jre-headless)")
class JavaTest(CaTestCase):
    def keytool(self, keystore, *args, storepass="changeit"):
        return subprocess.run(["keytool", "-J-Duser.language=en"] + list(args) +
                              ["-keystore", keystore, "-storepass", storepass],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)

    def aliases(self, keystore):
        r = self.keytool(keystore, "-list")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return re.findall(r"^([^,\n]+), [^\n]*trustedCertEntry", r.stdout.decode(), re.M)

    def fingerprint(self, keystore, alias):
        r = self.keytool(keystore, "-list", "-v", "-alias", alias)
        m = re.search(r"SHA256: ([0-9A-F:]+)", r.stdout.decode())
        return m.group(1).replace(":", "").lower() if m else None

    def test_install_and_uninstall_twice(self):
        home, ca = new_home()
        keystore = os.path.join(harness.tmpdir("java"), "truststore.p12")
        other, _ = harness.make_ca(os.path.dirname(keystore), "other", "Some Other CA")
        r = self.keytool(keystore, "-importcert", "-noprompt", "-alias", "other", "-file", other)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.aliases(keystore), ["other"])  # negative control

        for attempt in range(2):
            r = run_ca(home, "install", "--java", keystore)
            self.assertRan(r)
            self.assertIn("already trusted" if attempt else "imported the CA as alias interpose-ca", r.out)
            self.assertEqual(sorted(self.aliases(keystore)), ["interpose-ca", "other"])
            self.assertEqual(self.fingerprint(keystore, "interpose-ca"), sha256_of_pem(ca))

        # A wrong password fails with keytool's words, and is never printed.
        r = run_ca(home, "uninstall", "--java", keystore, "--storepass", "wrong-pass-123")
        self.assertRan(r, 1)
        self.assertIn("password was incorrect", r.err)
        self.assertNotIn("wrong-pass-123", r.out + r.err)

        for attempt in range(2):
            r = run_ca(home, "uninstall", "--java", keystore)
            self.assertRan(r)
            self.assertIn("nothing to remove" if attempt else "removed alias interpose-ca", r.out)
            self.assertEqual(self.aliases(keystore), ["other"])

    def test_regenerated_ca_replaces_the_alias_and_storepass_is_used(self):
        home, ca = new_home()
        keystore = os.path.join(harness.tmpdir("java"), "cacerts")
        self.assertRan(run_ca(home, "install", "--java", keystore, "--storepass", "another-pass"))
        self.assertEqual(self.fingerprint(keystore, "interpose-ca"), None)  # not readable with changeit
        self.assertRan(run_ca(home, "init", "--force"))
        r = run_ca(home, "install", "--java", keystore, "--storepass=another-pass")
        self.assertRan(r)
        self.assertIn("replaced the certificate under alias interpose-ca", r.out)
        r = self.keytool(keystore, "-list", "-v", "-alias", "interpose-ca", storepass="another-pass")
        self.assertIn(sha256_of_pem(ca), r.stdout.decode().replace(":", "").lower())


# ---------------------------------------------------------------- system store

DEBIAN_TOOL = "update-ca-certificates"
LOCAL_DIR = "/usr/local/share/ca-certificates"
CERTS_DIR = "/etc/ssl/certs"
HOOKS_DIR = "/etc/ca-certificates/update.d"
BUNDLE = CERTS_DIR + "/ca-certificates.crt"
SENTINEL = ".interpose-test-namespace"


def host_trust_state():
    """What the real machine's store looks like (to prove the test left it alone)."""
    state = {"local": sorted(os.listdir(LOCAL_DIR)) if os.path.isdir(LOCAL_DIR) else None}
    with open(BUNDLE, "rb") as f:
        state["bundle"] = hashlib.sha256(f.read()).hexdigest()
    state["links"] = sorted(n for n in os.listdir(CERTS_DIR) if "interpose" in n)
    return state


class PrivateTrustStore:
    """A mount namespace (held open by a `sleep` we start) in which the Debian trust store
    is the test's own: an empty /usr/local/share/ca-certificates, a copy of /etc/ssl/certs
    (the JDK's cacerts included) and an empty hooks directory (the real hooks would queue
    dpkg triggers on the machine). Commands run in it with nsenter."""

    def __init__(self):
        self.dir = harness.tmpdir("truststore")
        self.local = os.path.join(self.dir, "local")
        self.certs = os.path.join(self.dir, "certs")
        self.hooks = os.path.join(self.dir, "hooks")
        os.makedirs(self.local)
        os.makedirs(self.hooks)
        shutil.copytree(CERTS_DIR, self.certs, symlinks=True)
        for d in (self.local, self.certs):
            open(os.path.join(d, SENTINEL), "w").close()
        self.holder = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sleep", "600"],
                                       stdin=subprocess.DEVNULL)
        try:
            self._wait_for_namespace()
            self.run_checked(["sh", "-ec", 'mount --bind "$1" %s; mount --bind "$2" %s; mount --bind "$3" %s'
                              % (LOCAL_DIR, CERTS_DIR, HOOKS_DIR), "sh", self.local, self.certs, self.hooks])
            self._prove_private()
        except BaseException:
            self.close()
            raise

    def _wait_for_namespace(self):
        mine = os.readlink("/proc/self/ns/mnt")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if os.readlink("/proc/%d/ns/mnt" % self.holder.pid) != mine:
                    return
            except OSError:
                pass
            if self.holder.poll() is not None:
                raise RuntimeError("unshare -m exited with %s" % self.holder.returncode)
            time.sleep(0.02)
        raise RuntimeError("unshare -m made no new mount namespace")

    def _prove_private(self):
        """Nothing may write to a trust store until the namespace's are shown to be ours
        and the machine's are shown to be untouched by the mounts."""
        for d in (LOCAL_DIR, CERTS_DIR):
            inside = self.run(["test", "-e", os.path.join(d, SENTINEL)])
            if inside.returncode != 0:
                raise RuntimeError("the namespace does not see its own %s" % d)
            if os.path.exists(os.path.join(d, SENTINEL)):
                raise RuntimeError("the bind mount on %s is visible outside the namespace" % d)
        if self.run(["sh", "-c", "ls -A %s | grep -q ." % HOOKS_DIR]).returncode == 0:
            raise RuntimeError("the namespace's hooks directory is not empty")

    def run(self, argv, env=None, timeout=120):
        r = subprocess.run(["nsenter", "-t", str(self.holder.pid), "-m", "--"] + list(argv),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=env or harness.clean_env())
        r.out = r.stdout.decode(errors="replace")
        r.err = r.stderr.decode(errors="replace")
        return r

    def run_checked(self, argv):
        r = self.run(argv)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(argv), r.err))
        return r

    def close(self):
        if self.holder.poll() is None:
            self.holder.send_signal(signal.SIGTERM)
            self.holder.wait(10)


@harness.needs(os.geteuid() == 0, "the --system test needs root (for its private mount namespace)",
               harness.UNSHARE_HINT)
@harness.needs(have(DEBIAN_TOOL) and os.path.exists(BUNDLE), "update-ca-certificates is missing (ca-certificates)")
@harness.needs(have("nsenter") and have("unshare"), "nsenter/unshare are missing (util-linux)")
class SystemStoreTest(CaTestCase):
    @classmethod
    def setUpClass(cls):
        cls.home, cls.ca_pem = new_home("system-home")
        ca_dir = os.path.dirname(cls.ca_pem)
        pki = harness.tmpdir("pki")
        origin_ca, cert, key = harness.make_test_pki(pki, dns_names=(SITE,), ips=())
        cls.origin = harness.OriginProcess(tls_cert=cert, tls_key=key)
        try:
            cls.proxy = harness.Proxy(hosts=[SITE], config=lambda port: harness.intercept_config(
                port, cls.ca_pem, os.path.join(ca_dir, "ca.key"), upstream_ca=origin_ca, learned_chain=False,
                passthrough_names=()))
        except BaseException:
            cls.origin.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            harness.stop_and_check(cls.proxy)
        finally:
            cls.origin.stop()

    def test_install_and_uninstall_in_a_private_trust_store(self):
        before = host_trust_state()
        store = PrivateTrustStore()
        try:
            self.check_in(store)
        finally:
            store.close()
        self.assertEqual(host_trust_state(), before, "the machine's trust store changed")

    def curl(self, store):
        """curl in the namespace, through the proxy, trusting only its default bundle."""
        return store.run(["curl", "-sS", "--noproxy", "", "-x", self.proxy.url, "--max-time", "20",
                          "https://%s:%d/echo?system=1" % (SITE, self.origin.port)])

    def ca(self, store, *args):
        r = store.run([harness.interpose_bin(), "ca"] + list(args), env=ca_env(self.home))
        return r

    def check_in(self, store):
        r = self.curl(store)
        self.assertEqual(r.returncode, 60, "negative control: curl must refuse our CA before install: %r" % r.err)

        r = self.ca(store, "install", "--system")
        self.assertRan(r)
        self.assertIn("installed %s/interpose-ca.crt" % LOCAL_DIR, r.out)
        self.assertIn("ran update-ca-certificates: ", r.out)
        self.assertIn("contains the CA", r.out)
        r = self.curl(store)
        self.assertEqual(r.returncode, 0, "curl after install: %s" % r.err)
        self.assertIn('"target": "/echo?system=1"', r.out)
        self.assertIn("already trusted", self.ca(store, "install", "--system").out)

        # What Debian's ca-certificates-java hook (disabled here) does on install: a copy of
        # the CA in the JDK's store, which uninstall must take out as well.
        java_store = os.path.join(CERTS_DIR, "java/cacerts")
        java = have("keytool") and store.run(["test", "-f", java_store]).returncode == 0
        if java:
            r = store.run(["keytool", "-importcert", "-noprompt", "-alias", "debian:interpose-ca.pem", "-file",
                           self.ca_pem, "-keystore", java_store, "-storepass", "changeit"])
            self.assertEqual(r.returncode, 0, r.out + r.err)

        r = self.ca(store, "uninstall", "--system")
        self.assertRan(r)
        self.assertIn("removed %s/interpose-ca.crt" % LOCAL_DIR, r.out)
        self.assertIn("ran update-ca-certificates --fresh", r.out)
        if java:
            self.assertIn("removed alias debian:interpose-ca.pem", r.out)
            r2 = store.run(["keytool", "-list", "-alias", "debian:interpose-ca.pem", "-keystore", java_store,
                            "-storepass", "changeit"])
            self.assertNotEqual(r2.returncode, 0, "the JDK's store still has the CA")
        r = self.curl(store)
        self.assertEqual(r.returncode, 60, "curl must refuse our CA after uninstall: %r" % r.err)
        # Neither our link nor its hash link may stay behind, dangling or not.
        links = store.run(["sh", "-c", "ls %s | grep interpose; find %s -xtype l" % (CERTS_DIR, CERTS_DIR)]).out
        self.assertEqual(links.strip(), "", "uninstall left links in /etc/ssl/certs")

        r = self.ca(store, "uninstall", "--system")
        self.assertRan(r)
        self.assertIn("not installed", r.out)


if __name__ == "__main__":
    harness.main()
