#!/usr/bin/env python3
"""Every YAML example in the docs is a config Interpose accepts (issue: first hour).

Blocks in README.md and api/config/README.md are validated with `interpose --mode
validate`. A whole config (with `listeners:`) is checked as it is; a fragment is placed
where it belongs: `route_config:` / `http_filters:` into an http_connection_manager's
config, a list of HTTP filters into its http_filters (with a router last). Files a block
names (`body_file:`) are made in a scratch folder. A block that fails names its file and
line."""

import os
import re
import subprocess
import unittest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DOCS = ["README.md", os.path.join("api", "config", "README.md")]
# HTTP filters a route may configure, as a chain would declare them (besides the router).
FILTERS = {"access_log": "{ name: access_log }", "header_rewrite": "{ name: header_rewrite }",
           "rate_limit": "{ name: rate_limit, config: { rate: 100/s } }", "local_reply": "{ name: local_reply }"}

LISTENER = """listeners:
  - name: docs
    address: 127.0.0.1:1
    filter_chains:
      - filters:
          - name: http_connection_manager
            config:
%s
"""


def yaml_blocks(path):
    """(line, text) of each ```yaml block of a markdown file."""
    blocks, current, start = [], None, 0
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if current is None and line.strip() == "```yaml":
                current, start = [], number + 1
            elif current is not None and line.strip() == "```":
                blocks.append((start, "".join(current)))
                current = None
            elif current is not None:
                current.append(line)
    return blocks


def indent(text, spaces):
    return "".join(" " * spaces + line if line.strip() else line for line in text.splitlines(True))


def as_config(text):
    """The block as a whole config."""
    if re.search(r"^listeners:", text, re.M):
        return text
    if re.match(r"\s*- ", text):  # a list of HTTP filters
        filters = text if re.search(r"name: router\b", text) else text + "- name: router\n"
        return LISTENER % indent("http_filters:\n" + filters, 14)
    if not re.search(r"^http_filters:", text, re.M):
        # A route table alone: the chain has the filters its routes configure.
        named = [FILTERS[f] for f in FILTERS if re.search(r"\b%s:" % f, text)]
        text = "http_filters: [%s]\n" % ", ".join(named + ["{ name: router }"]) + text
    return LISTENER % indent(text, 14)


class DocsTest(unittest.TestCase):
    def test_every_yaml_block_validates(self):
        scratch = harness.tmpdir("docs")
        checked = 0
        for doc in DOCS:
            for line, text in yaml_blocks(os.path.join(ROOT, doc)):
                with self.subTest(block="%s:%d" % (doc, line)):
                    config = as_config(text)
                    for named in re.findall(r"body_file: (\S+?)[,}\s]", config):
                        made = os.path.join(scratch, os.path.basename(named))
                        with open(made, "w") as f:
                            f.write("{}")
                        config = config.replace(named, made)
                    path = os.path.join(scratch, "block-%d.yaml" % checked)
                    with open(path, "w") as f:
                        f.write(config)
                    r = subprocess.run([harness.interpose_bin(), "--mode", "validate", "-c", path],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30,
                                       env=dict(harness.clean_env(), XDG_DATA_HOME=scratch))
                    self.assertEqual(r.returncode, 0, "%s:%d does not validate:\n%s\n--- as checked:\n%s"
                                     % (doc, line, r.stdout.decode(), config))
                checked += 1
        self.assertGreaterEqual(checked, 5, "fewer YAML blocks than the docs have")


if __name__ == "__main__":
    harness.main()
