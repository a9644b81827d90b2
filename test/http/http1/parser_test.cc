#include "source/http/http1/parser.h"

#include <gtest/gtest.h>

#include <vector>

#include "source/http/http1/serializer.h"

namespace interpose::http1 {
namespace {

// Records every event the parser reports.
struct Recorder : Parser::Handler {
  struct Message {
    MessageHead head;
    std::string body;
    std::unique_ptr<HeaderMap> trailers;
    bool complete = false;
  };
  std::vector<Message> messages;
  bool skip_body = false;

  int onHeaders(MessageHead& head) override {
    messages.push_back(Message{});
    messages.back().head = std::move(head);
    return skip_body ? Parser::kSkipBody : Parser::kParseBody;
  }
  void onBody(std::string_view data) override { messages.back().body.append(data); }
  void onMessageComplete(std::unique_ptr<HeaderMap> trailers) override {
    messages.back().trailers = std::move(trailers);
    messages.back().complete = true;
  }
};

// Feeds all input, resuming after each message, like the connection manager does.
Parser::Result feedAll(Parser& parser, std::string_view input, size_t* left = nullptr) {
  while (true) {
    size_t consumed = 0;
    auto result = parser.execute(input, consumed);
    input.remove_prefix(consumed);
    if (result == Parser::Result::Paused) {
      parser.resume();
      if (input.empty()) return result;
      continue;
    }
    if (left) *left = input.size();
    return result;
  }
}

TEST(ParserTest, SimpleRequest) {
  Recorder r;
  Parser p(Parser::Type::Request, r, 64 * 1024);
  EXPECT_EQ(feedAll(p, "GET /a?b=%20c HTTP/1.1\r\nHost: x\r\nX-Two:  spaced  \r\n\r\n"), Parser::Result::Paused);
  ASSERT_EQ(r.messages.size(), 1u);
  auto& m = r.messages[0];
  EXPECT_EQ(m.head.method, "GET");
  EXPECT_EQ(m.head.target, "/a?b=%20c");
  EXPECT_EQ(*m.head.headers->get("x-two"), "spaced");
  EXPECT_TRUE(m.head.keep_alive);
  EXPECT_TRUE(m.complete);
  // Names are stored lower-case, whatever the wire spelling.
  ASSERT_EQ(m.head.headers->size(), 2u);
  EXPECT_EQ(m.head.headers->entries()[0].first, "host");
  EXPECT_EQ(m.head.headers->entries()[1].first, "x-two");
}

TEST(ParserTest, PausesAfterEachPipelinedRequest) {
  Recorder r;
  Parser p(Parser::Type::Request, r, 64 * 1024);
  std::string input = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
  size_t consumed = 0;
  EXPECT_EQ(p.execute(input, consumed), Parser::Result::Paused);
  EXPECT_EQ(r.messages.size(), 1u);
  EXPECT_LT(consumed, input.size());
  p.resume();
  size_t second = 0;
  EXPECT_EQ(p.execute(std::string_view(input).substr(consumed), second), Parser::Result::Paused);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].head.target, "/2");
}

TEST(ParserTest, ChunkedBodyWithTrailersAcrossSplitReads) {
  Recorder r;
  Parser p(Parser::Type::Request, r, 64 * 1024);
  std::string input =
      "POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n";
  // One byte at a time: every callback must cope with split tokens.
  for (size_t i = 0; i < input.size(); ++i) {
    size_t consumed = 0;
    auto result = p.execute(std::string_view(input).substr(i, 1), consumed);
    ASSERT_NE(result, Parser::Result::Error) << p.errorReason() << " at byte " << i;
  }
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_TRUE(r.messages[0].head.chunked);
  EXPECT_EQ(r.messages[0].body, "hello world");
  ASSERT_TRUE(r.messages[0].trailers);
  EXPECT_EQ(*r.messages[0].trailers->get("x-checksum"), "abc");
}

TEST(ParserTest, ContentLengthBody) {
  Recorder r;
  Parser p(Parser::Type::Request, r, 64 * 1024);
  feedAll(p, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].head.content_length, 3u);
  EXPECT_EQ(r.messages[0].body, "abc");
}

TEST(ParserTest, ConnectStopsForTheTunnel) {
  Recorder r;
  Parser p(Parser::Type::Request, r, 64 * 1024);
  std::string input = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01";
  size_t consumed = 0;
  EXPECT_EQ(p.execute(input, consumed), Parser::Result::Upgrade);
  EXPECT_EQ(input.substr(consumed), "\x16\x03\x01");
  EXPECT_EQ(r.messages[0].head.target, "example.com:443");
}

struct BadInput {
  const char* name;
  const char* input;
  int status;
};

const std::string kOversized = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";

class MalformedTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(MalformedTest, IsRejected) {
  Recorder r;
  Parser p(Parser::Type::Request, r, 1024);
  EXPECT_EQ(feedAll(p, GetParam().input), Parser::Result::Error);
  EXPECT_EQ(p.errorStatus(), GetParam().status);
  EXPECT_FALSE(p.errorReason().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Smuggling, MalformedTest,
    ::testing::Values(
        BadInput{"garbage", "GARBAGE\r\n\r\n", 400},
        BadInput{"cl_and_te",
                 "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        BadInput{"two_content_lengths",
                 "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd", 400},
        BadInput{"bad_chunk_size",
                 "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400},
        BadInput{"bare_lf", "GET / HTTP/1.1\nHost: x\n\n", 400},
        BadInput{"te_not_chunked_last", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
        BadInput{"te_xchunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400},
        BadInput{
            "te_twice",
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400},
        BadInput{"space_before_colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
        BadInput{"space_before_colon_in_trailer",
                 "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-Bad : v\r\n\r\n",
                 400},
        BadInput{"negative_length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
        BadInput{"oversized_headers", kOversized.c_str(), 431}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ParserTest, ResponseToHeadHasNoBody) {
  Recorder r;
  r.skip_body = true;
  Parser p(Parser::Type::Response, r, 64 * 1024);
  EXPECT_EQ(feedAll(p, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"), Parser::Result::Paused);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_TRUE(r.messages[0].complete);
  EXPECT_EQ(r.messages[0].head.status, 200);
}

TEST(ParserTest, CloseDelimitedResponseEndsAtFinish) {
  Recorder r;
  Parser p(Parser::Type::Response, r, 64 * 1024);
  EXPECT_EQ(feedAll(p, "HTTP/1.1 200 OK\r\n\r\npartial body"), Parser::Result::Ok);
  EXPECT_FALSE(r.messages[0].complete);
  EXPECT_EQ(p.finish(), Parser::Result::Paused);
  EXPECT_TRUE(r.messages[0].complete);
  EXPECT_EQ(r.messages[0].body, "partial body");
}

TEST(ParserTest, InterimResponseThenFinal) {
  Recorder r;
  Parser p(Parser::Type::Response, r, 64 * 1024);
  feedAll(p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].head.status, 100);
  EXPECT_EQ(r.messages[1].head.status, 204);
}

TEST(SerializerTest, RemovesHopByHopAndConnectionNamedFields) {
  HeaderMap h;
  h.add("connection", "keep-alive, X-Secret");
  h.add("x-secret", "1");
  h.add("keep-alive", "timeout=5");
  h.add("proxy-authorization", "Basic Zm9vOmJhcg==");
  h.add("proxy-connection", "keep-alive");
  h.add("te", "trailers");
  h.add("upgrade", "websocket");
  h.add("trailer", "x");
  h.add("transfer-encoding", "chunked");
  h.add("x-kept", "yes");
  removeHopByHopHeaders(h);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h.entries()[0].first, "x-kept");
}

TEST(SerializerTest, KeepsEverythingWithoutHopByHopFields) {
  HeaderMap h;
  h.add("x-a", "1");
  h.add("content-length", "5");
  removeHopByHopHeaders(h);
  EXPECT_EQ(h.size(), 2u);
}

TEST(SerializerTest, ConnectionTokensAreCaseInsensitiveAndTrimmed) {
  HeaderMap h;
  h.add("Connection", " Close ,  X-Hop	, ");
  h.add("Connection", "x-other");
  h.add("X-HOP", "1");
  h.add("x-other", "2");
  h.add("close", "not really a field, but named");
  h.add("x-kept", "3");
  removeHopByHopHeaders(h);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h.entries()[0].first, "x-kept");
}

TEST(SerializerTest, WritesRequestHeadWithoutPseudoHeaders) {
  HeaderMap h;
  h.addPseudoHeaders({{":method", "POST"}, {":path", "/p?q=1"}});
  h.add("host", "example.com");
  h.add("content-length", "0");
  Buffer out("earlier bytes|");
  writeRequestHead(h, "POST", "/p?q=1", out);
  EXPECT_EQ(out.view(), "earlier bytes|POST /p?q=1 HTTP/1.1\r\nhost: example.com\r\ncontent-length: 0\r\n\r\n");
}

TEST(SerializerTest, WritesExtraFieldLinesBeforeTheBlankLine) {
  HeaderMap h;
  h.addPseudoHeaders({{":method", "POST"}});
  h.add("x-a", "1");
  Buffer out;
  writeFields(h, out, "transfer-encoding: chunked\r\n");
  EXPECT_EQ(out.view(), "x-a: 1\r\ntransfer-encoding: chunked\r\n\r\n");
  Buffer plain;
  writeFields(h, plain);
  EXPECT_EQ(plain.view(), "x-a: 1\r\n\r\n");
}

// A client's Connection header names fields to drop; never the request's pseudo-headers
// (they are in the map when this runs: "Connection: :path" once emptied the path).
TEST(SerializerTest, HopByHopRemovalKeepsPseudoHeadersAndTeTrailersWhenAsked) {
  HeaderMap h;
  h.add(":method", "GET");
  h.add(":path", "/secret");
  h.add("connection", "close, :path, :method, x-drop");
  h.add("x-drop", "1");
  h.add("x-keep", "1");
  h.add("te", "trailers");
  HeaderMap copy = h;
  removeHopByHopHeaders(h);
  EXPECT_EQ(h.path(), "/secret");
  EXPECT_EQ(h.method(), "GET");
  EXPECT_FALSE(h.has("x-drop"));
  EXPECT_FALSE(h.has("te"));
  EXPECT_TRUE(h.has("x-keep"));
  removeHopByHopHeaders(copy, /*keep_te_trailers=*/true);
  EXPECT_EQ(copy.getOr("te"), "trailers");
  HeaderMap gzip;
  gzip.add("te", "gzip");
  removeHopByHopHeaders(gzip, /*keep_te_trailers=*/true);
  EXPECT_FALSE(gzip.has("te"));
}

TEST(SerializerTest, KnowsTheReasonOfEveryRegisteredStatus) {
  EXPECT_EQ(reasonPhrase(407), "Proxy Authentication Required");
  EXPECT_EQ(reasonPhrase(421), "Misdirected Request");
  EXPECT_EQ(reasonPhrase(426), "Upgrade Required");
  EXPECT_EQ(reasonPhrase(429), "Too Many Requests");
  EXPECT_EQ(reasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reasonPhrase(508), "Loop Detected");
  EXPECT_EQ(reasonPhrase(511), "Network Authentication Required");
  EXPECT_EQ(reasonPhrase(599), "Unknown");
}

TEST(SerializerTest, WritesStatusCodesAndHexChunkSizes) {
  HeaderMap h;
  Buffer out;
  writeResponseHead(599, h, out);
  writeChunk(std::string(0x1a2b, 'x'), out);
  std::string_view v = out.view();
  EXPECT_EQ(v.substr(0, v.find("\r\n\r\n") + 4), "HTTP/1.1 599 Unknown\r\n\r\n");
  EXPECT_EQ(v.substr(v.find("\r\n\r\n") + 4, 6), "1a2b\r\n");
  EXPECT_EQ(v.size(), 24u + 6 + 0x1a2b + 2);
}

TEST(SerializerTest, WritesHeadAndChunks) {
  HeaderMap h;
  h.add(":status", "200");
  h.add("content-type", "text/plain");
  Buffer out;
  writeResponseHead(200, h, out);
  writeChunk("hello", out);
  writeChunk("", out);  // an empty chunk would end the body: never written
  HeaderMap trailers;
  trailers.add("x-t", "1");
  writeLastChunk(&trailers, out);
  EXPECT_EQ(out.view(), "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n");
}

}  // namespace
}  // namespace interpose::http1
