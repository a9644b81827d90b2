// Config errors that point at what yaml-cpp would otherwise pass over or explain poorly:
// repeated keys, extra documents, tabs, syntax errors deep in a file, bad address ranges, and
// control characters from the config echoed in a message.

#include <gtest/gtest.h>

#include <string>

#include "source/config/server_config.h"

namespace interpose::config {
namespace {

// A minimal valid config, five lines long.
constexpr const char* kListener = R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - filters: [ { name: tcp_proxy } ]
)";

std::string errorOf(const std::string& yaml) {
  auto config = parseConfig(yaml, "bad.yaml");
  return config.ok() ? "(accepted)" : std::string(config.status().message());
}

void expectAccepted(const std::string& yaml) {
  auto config = parseConfig(yaml, "good.yaml");
  EXPECT_TRUE(config.ok()) << config.status() << "\n" << yaml;
}

// --- Duplicate keys --------------------------------------------------------------------------

TEST(DuplicateKeyTest, AtTopLevel) {
  EXPECT_EQ(errorOf(std::string(kListener) + "drain_timeout: 1s\ndrain_timeout: 2s\n"),
            "bad.yaml:7:1: drain_timeout: duplicate key 'drain_timeout' (first at line 6, column 1)");
}

TEST(DuplicateKeyTest, InAListItem) {
  EXPECT_EQ(errorOf(R"(listeners:
  - name: p
    address: 127.0.0.1:1
    name: q
    filter_chains:
      - filters: [ { name: tcp_proxy } ]
)"),
            "bad.yaml:4:5: listeners[0].name: duplicate key 'name' (first at line 2, column 5)");
}

TEST(DuplicateKeyTest, InTheSecondItemOfAList) {
  EXPECT_EQ(errorOf(std::string(kListener) + R"(  - name: q
    address: 127.0.0.1:2
    address: 127.0.0.1:3
    filter_chains:
      - filters: [ { name: tcp_proxy } ]
)"),
            "bad.yaml:8:5: listeners[1].address: duplicate key 'address' (first at line 7, column 5)");
}

TEST(DuplicateKeyTest, DeepInsideAFilterConfig) {
  EXPECT_EQ(errorOf(R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - filters:
          - name: http_connection_manager
            config:
              timeouts:
                idle: 1m
                request_headers: 5s
                idle: 2m
)"),
            "bad.yaml:11:17: listeners[0].filter_chains[0].filters[0].config.timeouts.idle: duplicate key 'idle' "
            "(first at line 9, column 17)");
}

TEST(DuplicateKeyTest, InAFlowMap) {
  EXPECT_EQ(errorOf(R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - filters: [ { name: tcp_proxy, config: { connect_timeout: 1s, connect_timeout: 2s } } ]
)"),
            "bad.yaml:5:70: listeners[0].filter_chains[0].filters[0].config.connect_timeout: duplicate key "
            "'connect_timeout' (first at line 5, column 49)");
}

TEST(DuplicateKeyTest, KeysAreComparedAsScalarsSoQuotingDoesNotHideOne) {
  EXPECT_EQ(errorOf(R"(listeners:
  - name: p
    "name": q
)"),
            "bad.yaml:3:5: listeners[0].name: duplicate key 'name' (first at line 2, column 5)");
}

TEST(DuplicateKeyTest, EvenUnderAKeyTheConfigDoesNotKnow) {
  // Found before the unknown key: the check walks the whole document first.
  EXPECT_EQ(errorOf(std::string(kListener) + "extra: { a: 1, a: 2 }\n"),
            "bad.yaml:6:16: extra.a: duplicate key 'a' (first at line 6, column 10)");
}

TEST(DuplicateKeyTest, SameKeyInDifferentMapsIsFine) {
  expectAccepted(std::string(kListener) + R"(  - name: q
    address: 127.0.0.1:2
    filter_chains:
      - filters: [ { name: tcp_proxy, config: { connect_timeout: 1s } } ]
      - filters: [ { name: tcp_proxy, config: { connect_timeout: 1s } } ]
)");
}

TEST(DuplicateKeyTest, AliasesAreNotDuplicates) {
  expectAccepted(R"(listeners:
  - name: a
    address: 127.0.0.1:1
    filter_chains: &chains
      - filters: [ { name: tcp_proxy } ]
  - name: b
    address: 127.0.0.1:2
    filter_chains: *chains
)");
}

TEST(DuplicateKeyTest, NestedAliasesAreWalkedOnce) {
  // Each level names the one below twice: 2^40 paths, but only 41 distinct lists. Walking
  // every path would not finish; the config's own error must come back at once.
  std::string yaml = "x0: &x0 [a, b]\n";
  for (int i = 1; i <= 40; ++i) {
    yaml += "x" + std::to_string(i) + ": &x" + std::to_string(i) + " [*x" + std::to_string(i - 1) + ", *x" +
            std::to_string(i - 1) + "]\n";
  }
  EXPECT_EQ(errorOf(yaml).rfind("bad.yaml:1:1: x0: unknown key", 0), 0u) << errorOf(yaml);
}

// --- More than one document ------------------------------------------------------------------

TEST(DocumentsTest, ASecondDocumentIsAnError) {
  EXPECT_EQ(errorOf(std::string(kListener) + "---\nlisteners: []\n"),
            "bad.yaml:7:1: (top level): a second YAML document starts here, but a config file holds one (merge "
            "them, or remove this one and the '---' before it)");
}

TEST(DocumentsTest, AnyLaterNonEmptyDocumentIsAnError) {
  EXPECT_EQ(errorOf(std::string(kListener) + "---\n---\n# x\n  \ndrain_timeout: 1s\n").rfind("bad.yaml:10:1: ", 0), 0u);
}

TEST(DocumentsTest, EmptyDocumentsAndMarkersAreFine) {
  expectAccepted(std::string("---\n") + kListener);
  expectAccepted(std::string(kListener) + "---\n");
  expectAccepted(std::string(kListener) + "---\n# nothing here\n");
  expectAccepted(std::string(kListener) + "...\n");
}

// --- Tabs and syntax errors ------------------------------------------------------------------

TEST(SyntaxErrorTest, TabIndentationIsNamed) {
  EXPECT_EQ(errorOf("listeners:\n\t- name: p\n"),
            "bad.yaml:2:1: tab characters are not allowed for indentation (use spaces)");
  EXPECT_EQ(errorOf("listeners:\n  - name: p\n  \t  address: 127.0.0.1:1\n"),
            "bad.yaml:3:3: tab characters are not allowed for indentation (use spaces)");
  // After a list marker, a tab indents the item's content too.
  EXPECT_EQ(errorOf("listeners:\n  -\tname: p\n    address: 127.0.0.1:1\n"),
            "bad.yaml:2:4: tab characters are not allowed for indentation (use spaces)");
  EXPECT_EQ(errorOf("listeners:\r\n\t- name: p\r\n"),
            "bad.yaml:2:1: tab characters are not allowed for indentation (use spaces)");
}

TEST(SyntaxErrorTest, ATabElsewhereKeepsYamlCppsText) {
  EXPECT_EQ(errorOf("listeners:\n  - name:\tp: q\n"),
            "bad.yaml:2:12: invalid YAML: illegal map value (inside 'listeners')");
}

TEST(SyntaxErrorTest, NamesTheEnclosingKey) {
  EXPECT_EQ(errorOf(std::string(kListener) + "        match: a: b\n"),
            "bad.yaml:6:17: invalid YAML: illegal map value (inside 'filter_chains')");
}

TEST(SyntaxErrorTest, LooksPastLinesThatEncloseNothing) {
  // "address: ..." holds a value, not a block, and "- name: p" is a sibling of the bad line:
  // the enclosing key is further out. Comments and blank lines in between do not count.
  EXPECT_EQ(errorOf(R"(listeners:
  - name: p
# a comment: here
    address: 127.0.0.1:1

      buffer_limit: 1MiB
)"),
            "bad.yaml:6:19: invalid YAML: illegal map value (inside 'listeners')");
}

TEST(SyntaxErrorTest, NoHintAtTopLevelOrWhenUnsure) {
  EXPECT_EQ(errorOf("listeners: [ {"), "bad.yaml:1:1: invalid YAML: end of map flow not found");
  EXPECT_EQ(errorOf("drain_timeout: 1s\n  listeners: x\n"), "bad.yaml:2:12: invalid YAML: illegal map value");
  // A quoted key is not worth guessing at.
  EXPECT_EQ(errorOf("\"listeners\":\n  - name: p: q\n"), "bad.yaml:2:12: invalid YAML: illegal map value");
}

// --- Address ranges --------------------------------------------------------------------------

std::string withSourceCidr(const std::string& cidr) {
  return R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - match: { source_cidrs: [ )" +
         cidr + R"( ] }
        filters: [ { name: tcp_proxy } ]
)";
}

TEST(SourceCidrTest, SaysWhyAndWhatWasExpected) {
  EXPECT_EQ(errorOf(withSourceCidr("10.0.0.300/8")),
            "bad.yaml:5:34: listeners[0].filter_chains[0].match.source_cidrs[0]: '10.0.0.300' is not an IP address; "
            "expected an address range such as 10.0.0.0/8 or ::1/128, or one address");
  EXPECT_NE(errorOf(withSourceCidr("10.0.0.0/33")).find(": prefix length 33 is more than 32 for an IPv4 address; "),
            std::string::npos);
  EXPECT_NE(errorOf(withSourceCidr("\"::1/200\"")).find(": prefix length 200 is more than 128 for an IPv6 address; "),
            std::string::npos);
}

TEST(SourceCidrTest, ABareAddressIsOneHost) {
  auto config = parseConfig(withSourceCidr("10.1.2.3, \"::1\""), "good.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const auto& cidrs = (*config)->listeners[0].filter_chains[0].match.source_cidrs;
  ASSERT_EQ(cidrs.size(), 2u);
  EXPECT_EQ(cidrs[0].length, 32);
  EXPECT_EQ(cidrs[1].length, 128);
}

// --- Control characters in messages ----------------------------------------------------------

TEST(EscapingTest, KeysFromTheConfigAreEscaped) {
  EXPECT_EQ(
      errorOf("\"evil\\e[2J\": 1\n" + std::string(kListener)),
      "bad.yaml:1:1: evil\\x1B[2J: unknown key; expected one of: cert_providers, listeners, drain_timeout, admin");
  EXPECT_EQ(errorOf(std::string(kListener) + "\"a\\x01\": 1\n\"a\\x01\": 2\n"),
            "bad.yaml:7:1: a\\x01: duplicate key 'a\\x01' (first at line 6, column 1)");
}

TEST(EscapingTest, ValuesFromTheConfigAreEscaped) {
  const std::string message = errorOf(R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - filters: [ { name: "ma\tgic\u202e" } ]
)");
  EXPECT_NE(message.find("unknown network filter 'ma\\x09gic\\u{202E}'"), std::string::npos) << message;
  EXPECT_NE(errorOf(withSourceCidr("\"10.0.0.1\\u2066/8\"")).find(": '10.0.0.1\\u{2066}' is not an IP address; "),
            std::string::npos);
}

TEST(EscapingTest, TheEnclosingKeyHintIsEscaped) {
  EXPECT_EQ(errorOf("top\x7f:\n  a: b: c\n"), "bad.yaml:2:7: invalid YAML: illegal map value (inside 'top\\x7F')");
}

}  // namespace
}  // namespace interpose::config
