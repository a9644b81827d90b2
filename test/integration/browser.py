"""Headless Chromium driven by chromedriver (Debian's chromium, chromium-driver and
python3-selenium), for tests that need a real browser's certificate verification, proxy
settings and rendering rather than a client library's.

    harness.require(browser.missing() is None, browser.missing() or "")   # or browser.require()
    with browser.Chromium(home=HOME, proxy=proxy.address) as chrome:
        page = chrome.load("https://site.test:%d/echo" % port)
        page.text, page.title, page.issuer, page.error

Chromium reads the certificates its user trusts from $HOME/.pki/nssdb, so `home` decides
what it trusts; every Chromium gets a fresh profile (--user-data-dir) of its own.
"""

import json
import os
import shutil
import time

import harness

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PACKAGES = "chromium, chromium-driver and python3-selenium"

# Flags for a quiet, reproducible browser: headless, as root without the sandbox (which
# refuses to run as root), no QUIC (the proxy speaks TCP), and no background traffic of
# its own (updates, sync, first-run pages) to reach the proxy or the network.
BASE_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage")


def missing():
    """What is missing to drive Chromium (a sentence), or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return "%s is missing (needs %s)" % (path, PACKAGES)
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "python3-selenium is missing (cannot import selenium)"
    return None


def require():
    """Fails the test (or skips it, with INTERPOSE_ALLOW_SKIP=1) when Chromium is missing."""
    what = missing()
    harness.require(what is None, what or "")


def _service(Service, env, log_path):
    """chromedriver's Service; selenium renamed log_path to log_output after 4.8 (Debian 12's)."""
    import inspect
    params = inspect.signature(Service.__init__).parameters
    key = "log_output" if "log_output" in params else "log_path"
    return Service(CHROMEDRIVER, env=env, **{key: log_path})


class Page:
    """One loaded page: text (document.body.innerText), title, and from the DevTools
    network log the main document's certificate issuer (common name, None without TLS
    or when the load failed) and its network error (e.g. net::ERR_CERT_AUTHORITY_INVALID)."""

    def __init__(self, url, title, text, issuer, error):
        self.url = url
        self.title = title
        self.text = text
        self.issuer = issuer
        self.error = error

    def __repr__(self):
        return "<Page %s title=%r issuer=%r error=%r text=%r>" % (
            self.url, self.title, self.issuer, self.error, self.text[:300])


class Chromium:
    """A headless Chromium through chromedriver. home: $HOME of the browser (its NSS
    database is home/.pki/nssdb); proxy: "host:port" of an HTTP proxy, or None."""

    def __init__(self, home, proxy=None, extra_args=(), page_timeout=30):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.dir = harness.tmpdir("chromium")
        env = harness.clean_env()
        env["HOME"] = home
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in BASE_ARGS + ("--user-data-dir=" + os.path.join(self.dir, "profile"),):
            options.add_argument(arg)
        if proxy:
            options.add_argument("--proxy-server=http://" + proxy)
        for arg in extra_args:
            options.add_argument(arg)
        # The DevTools network events carry each response's certificate details.
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        self.log_path = os.path.join(self.dir, "chromedriver.log")
        self.driver = None
        last = None
        # The very first Chromium on a machine sometimes dies while it sets itself up
        # ("chrome not reachable"); a second try starts normally.
        for attempt in range(2):
            # An explicit driver path keeps selenium from looking for one (and going online).
            service = _service(Service, env, self.log_path)
            try:
                self.driver = webdriver.Chrome(service=service, options=options)
                break
            except Exception as e:  # selenium's SessionNotCreatedException, WebDriverException
                last = e
                time.sleep(0.5)
        if self.driver is None:
            raise RuntimeError("Chromium did not start: %s\n%s" % (last, self.log()[-3000:]))
        self.driver.set_page_load_timeout(page_timeout)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def load(self, url):
        """Navigates to url and returns a Page. A certificate error is no exception:
        Chromium shows its interstitial, and Page.error names the error."""
        self.driver.get_log("performance")  # drop earlier pages' events
        self.driver.get(url)
        title = self.driver.title
        text = self.driver.execute_script("return document.body ? document.body.innerText : ''") or ""
        issuer = error = None
        ours = set()  # the navigation's own requests (the log also has the new-tab page's)
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message["method"] == "Network.requestWillBeSent":
                if params.get("type") == "Document" and params["request"]["url"] == url:
                    ours.add(params["requestId"])
            elif params.get("requestId") not in ours:
                continue
            elif message["method"] == "Network.responseReceived" and issuer is None:
                details = params["response"].get("securityDetails") or {}
                issuer = details.get("issuer")
            elif message["method"] == "Network.loadingFailed" and error is None:
                error = params.get("errorText")
        return Page(url, title, text, issuer, error)

    def quit(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            finally:
                self.driver = None
        shutil.rmtree(os.path.join(self.dir, "profile"), ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()
