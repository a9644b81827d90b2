#!/usr/bin/env python3
"""`interpose --mode validate`: every shipped config is OK; broken configs
exit 1 with `FILE:LINE:COL: key.path: ...` pointing at the offending line."""

import glob
import os
import re
import subprocess
import unittest

import harness


def configs_dir():
    # Under `bazel test` the cwd is the runfiles root, which has configs/.
    for d in ("configs", os.path.join(harness.WORKSPACE, "configs")):
        if os.path.isdir(d):
            return d
    return None


def validate(path):
    return subprocess.run([harness.interpose_bin(), "-c", path, "--mode", "validate"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                          env=harness.clean_env())


def write(text, name="broken.yaml"):
    path = os.path.join(harness.tmpdir("validate"), name)
    with open(path, "w") as f:
        f.write(text)
    return path


GOOD = harness.proxy_config(18080)   # the config the other tests run with
GOOD_LINES = GOOD.splitlines()


def replace_line(containing, new_line):
    """GOOD with the (single) line containing `containing` replaced; returns
    (text, 1-based line number)."""
    idx = [i for i, l in enumerate(GOOD_LINES) if containing in l]
    assert len(idx) == 1, (containing, idx)
    lines = list(GOOD_LINES)
    lines[idx[0]] = new_line
    return "\n".join(lines) + "\n", idx[0] + 1


class ValidateTest(unittest.TestCase):

    def test_shipped_configs_are_valid(self):
        d = configs_dir()
        self.assertIsNotNone(d, "configs/ directory not found")
        files = sorted(glob.glob(os.path.join(d, "*.yaml")))
        self.assertTrue(files, "no configs/*.yaml found")
        for path in files:
            with self.subTest(config=os.path.basename(path)):
                r = validate(path)
                self.assertEqual(r.returncode, 0, (r.stdout + r.stderr).decode())
                self.assertEqual(r.stdout.decode().strip(), "OK")

    def test_test_config_is_valid(self):
        r = validate(write(GOOD, "good.yaml"))
        self.assertEqual(r.returncode, 0, (r.stdout + r.stderr).decode())
        self.assertEqual(r.stdout.decode().strip(), "OK")

    def assert_error(self, text, line, key_parts):
        """Exit 1, and a message FILE:LINE:COL: ... naming the key path."""
        path = write(text)
        r = validate(path)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        self.assertEqual(r.returncode, 1, out)
        self.assertNotIn("OK\n", r.stdout.decode())
        m = re.search(re.escape(path) + r":(\d+):(\d+): (\S+)", out)
        self.assertIsNotNone(m, "no '%s:LINE:COL: key.path' in:\n%s" % (path, out))
        self.assertEqual(int(m.group(1)), line, out)
        self.assertGreaterEqual(int(m.group(2)), 1, out)
        key_path = m.group(3)
        for part in key_parts:
            self.assertIn(part, key_path, out)

    def test_bad_duration(self):
        text, line = replace_line("drain_timeout:", "drain_timeout: soon")
        self.assert_error(text, line, ["drain_timeout"])

    def test_bad_size(self):
        text, line = replace_line("max_request_headers:", "              max_request_headers: lots")
        self.assert_error(text, line, ["listeners", "filter_chains", "max_request_headers"])

    def test_bad_address(self):
        text, line = replace_line("address:", "    address: 127.0.0.1:notaport")
        self.assert_error(text, line, ["listeners", "address"])

    def test_unknown_filter(self):
        text, line = replace_line("name: router", "                - name: no_such_filter")
        self.assert_error(text, line, ["listeners", "http_filters"])

    def test_nested_bad_timeout(self):
        text, line = replace_line("response_timeout:",
                                  "                  config: { connect_timeout: 2s, response_timeout: -3 }")
        self.assert_error(text, line, ["http_filters", "response_timeout"])

    def test_listeners_not_a_list(self):
        text = "drain_timeout: 2s\nlisteners: 7\n"
        self.assert_error(text, 2, ["listeners"])

    def test_yaml_syntax_error(self):
        path = write("listeners:\n  - name: [unclosed\n")
        r = validate(path)
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        self.assertEqual(r.returncode, 1, out)
        self.assertRegex(out, re.escape(path) + r":\d+:\d+")

    def test_missing_file(self):
        r = validate("/nonexistent/interpose.yaml")
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    harness.main()
