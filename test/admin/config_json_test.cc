// /config_dump's YAML-to-JSON: types as YAML 1.2's core schema reads them, and secrets redacted.

#include "source/admin/config_json.h"

#include <gtest/gtest.h>

#include "source/admin/json_writer.h"

namespace interpose::admin {
namespace {

std::string compact(const std::string& json) {
  // The writer indents; compare without the layout (whitespace outside strings).
  std::string out;
  bool in_string = false;
  bool escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == ' ' || c == '\n') {
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string toJson(const std::string& yaml) {
  auto json = configToJson(YAML::Load(yaml));
  EXPECT_TRUE(json.ok()) << json.status();
  return json.ok() ? compact(*json) : "";
}

TEST(ConfigJsonTest, ScalarsFollowTheCoreSchema) {
  EXPECT_EQ(toJson("a: 1\nb: -2.5e3\nc: true\nd: False\ne: ~\nf: null\ng:\nh: text\n"),
            R"({"a":1,"b":-2.5e3,"c":true,"d":false,"e":null,"f":null,"g":null,"h":"text"})");
  // Quoted or tagged scalars stay strings; YAML numbers that are not JSON numbers too.
  EXPECT_EQ(toJson("a: \"1\"\nb: 'true'\nc: !!str 5\nd: 0755\ne: +1\nf: .5\ng: 0x1f\nh: 10s\ni: yes\n"),
            R"({"a":"1","b":"true","c":"5","d":"0755","e":"+1","f":".5","g":"0x1f","h":"10s","i":"yes"})");
  EXPECT_EQ(toJson("list: [1, two, [3]]\nempty: []\nmap: {}\n"), R"({"list":[1,"two",[3]],"empty":[],"map":{}})");
}

TEST(ConfigJsonTest, StringsAreEscaped) {
  EXPECT_EQ(toJson("a: \"quote \\\" backslash \\\\ tab \\t nul-free \\x01\"\n"),
            R"({"a":"quote \" backslash \\ tab \u0009 nul-free \u0001"})");
  EXPECT_EQ(toJson("\"k\\\"ey\": v\n"), R"({"k\"ey":"v"})");
}

TEST(ConfigJsonTest, SecretsAreRedactedWhateverTheirShape) {
  EXPECT_EQ(
      toJson(R"(admin: { address: 127.0.0.1:9901, token: abc, token_file: /etc/t }
ca: { cert: /c.pem, key: /c.key }
upstream_tls: { client_key: /k.pem, client_cert: /c.pem }
x: { password: p, db_password: q, api_secret: s, Secret: S, refresh_token: r, x-api-key: h, KEY: [1, 2] }
headers: { authorization: "Bearer xyz", proxy-authorization: "Basic abc", x-other: fine }
keys: [kept]
monkey: kept
)"),
      R"({"admin":{"address":"127.0.0.1:9901","token":"[redacted]","token_file":"/etc/t"},)"
      R"("ca":{"cert":"/c.pem","key":"[redacted]"},)"
      R"("upstream_tls":{"client_key":"[redacted]","client_cert":"/c.pem"},)"
      R"("x":{"password":"[redacted]","db_password":"[redacted]","api_secret":"[redacted]","Secret":"[redacted]",)"
      R"("refresh_token":"[redacted]","x-api-key":"[redacted]","KEY":"[redacted]"},)"
      R"("headers":{"authorization":"[redacted]","proxy-authorization":"[redacted]","x-other":"fine"},)"
      R"("keys":["kept"],"monkey":"kept"})");
}

TEST(ConfigJsonTest, SecretKeyNames) {
  for (const char* secret : {"token", "password", "key", "secret", "Authorization", "client_key", "x-auth-token",
                             "admin_password", "AWS_SECRET"}) {
    EXPECT_TRUE(isSecretKey(secret)) << secret;
  }
  for (const char* plain : {"keys", "monkey", "token_file", "_key", "name", "keyring", "tokens"}) {
    EXPECT_FALSE(isSecretKey(plain)) << plain;
  }
}

TEST(ConfigJsonTest, ExpansionIsBounded) {
  // Aliases make a small document large; the dump stops instead of growing without bound.
  std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  std::string prev = "a";
  for (char c = 'b'; c <= 'h'; ++c) {
    yaml += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
            ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n";
    prev = std::string(1, c);
  }
  auto json = configToJson(YAML::Load(yaml), 1024 * 1024);
  ASSERT_FALSE(json.ok());
  EXPECT_NE(std::string(json.status().message()).find("expands to more than"), std::string::npos);
}

TEST(JsonWriterTest, NestsAndEscapes) {
  JsonWriter json;
  json.beginObject()
      .key("s")
      .value("a\"b\\c\n\x7f\xff")
      .key("n")
      .value(int64_t{-3})
      .key("b")
      .value(true)
      .key("z")
      .null()
      .key("l")
      .beginArray()
      .value(uint64_t{1})
      .beginObject()
      .endObject()
      .endArray()
      .endObject();
  EXPECT_EQ(compact(json.take()), R"({"s":"a\"b\\c\u000a\u007f\u00ff","n":-3,"b":true,"z":null,"l":[1,{}]})");
}

}  // namespace
}  // namespace interpose::admin
