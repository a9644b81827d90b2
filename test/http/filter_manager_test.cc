// The HTTP FilterManager's contract with filters (api/interpose/http_filter.h): decode in
// order, encode in reverse, StopIteration / StopIterationAndBuffer holding a direction at one
// filter until it continues, the buffer limits (413 / 500), and what an answered or reset
// stream no longer does.

#include "source/http/filter_manager.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "test/http/fake_filter_callbacks.h"

namespace interpose::http {
namespace {

using testing::FakeWorker;

// The codec side: records what reaches the client.
class RecordingEncoder : public StreamEncoder {
 public:
  void encodeHeaders(HeaderMap& headers, bool end_stream) override {
    status = headers.status();
    log.push_back("headers " + std::to_string(status) + (end_stream ? " end" : ""));
    ended = end_stream;
  }
  void encodeData(Buffer& data, bool end_stream) override {
    body += std::string(data.view());
    log.push_back("data " + std::to_string(data.size()) + (end_stream ? " end" : ""));
    ended = ended || end_stream;
  }
  void encodeTrailers(HeaderMap&) override {
    log.push_back("trailers");
    ended = true;
  }
  void resetStream(std::string_view reason) override { resets.emplace_back(reason); }
  void addDownstreamWatermarkCallbacks(WatermarkCallbacks&) override {}
  void removeDownstreamWatermarkCallbacks(WatermarkCallbacks&) override {}
  void readDisableDownstream(bool) override {}
  uint32_t bufferLimit() const override { return limit; }
  void onRequestHeadersDone() override { ++headers_done; }

  uint32_t limit = 16;
  int status = 0;
  bool ended = false;
  std::string body;
  std::vector<std::string> log;
  std::vector<std::string> resets;
  int headers_done = 0;
};

// A filter whose answers a test sets, which records what it saw in a log shared by the chain.
class ScriptedFilter : public HttpFilter {
 public:
  ScriptedFilter(std::string name, std::vector<std::string>& log) : name_(std::move(name)), log_(log) {}

  FilterHeadersStatus decodeHeaders(HeaderMap&, bool end_stream) override {
    log_.push_back(name_ + ".decodeHeaders" + (end_stream ? " end" : ""));
    if (on_decode_headers) on_decode_headers(*this);
    return stop_decode_headers ? FilterHeadersStatus::StopIteration : FilterHeadersStatus::Continue;
  }
  FilterDataStatus decodeData(Buffer& data, bool end_stream) override {
    log_.push_back(name_ + ".decodeData " + std::string(data.view()) + (end_stream ? " end" : ""));
    return buffer_decode_data ? FilterDataStatus::StopIterationAndBuffer : FilterDataStatus::Continue;
  }
  FilterHeadersStatus encodeHeaders(HeaderMap& headers, bool end_stream) override {
    log_.push_back(name_ + ".encodeHeaders " + std::to_string(headers.status()) + (end_stream ? " end" : ""));
    return stop_encode_headers ? FilterHeadersStatus::StopIteration : FilterHeadersStatus::Continue;
  }
  FilterDataStatus encodeData(Buffer& data, bool end_stream) override {
    log_.push_back(name_ + ".encodeData " + std::to_string(data.size()) + (end_stream ? " end" : ""));
    return buffer_encode_data ? FilterDataStatus::StopIterationAndBuffer : FilterDataStatus::Continue;
  }
  void onStreamComplete(const StreamInfo& info) override { log_.push_back(name_ + ".complete"); }

  DecoderFilterCallbacks& decoder() { return *decoder_callbacks_; }
  EncoderFilterCallbacks& encoder() { return *encoder_callbacks_; }

  bool stop_decode_headers = false;
  bool buffer_decode_data = false;
  bool stop_encode_headers = false;
  bool buffer_encode_data = false;
  std::function<void(ScriptedFilter&)> on_decode_headers;

 private:
  std::string name_;
  std::vector<std::string>& log_;
};

// A chain of scripted filters "a", "b", ... run by one FilterManager.
class FilterManagerTest : public ::testing::Test {
 protected:
  void makeChain(std::vector<std::string> names) {
    for (const auto& name : names) {
      specs_.push_back({name, [this, name] {
                          auto f = std::make_unique<ScriptedFilter>(name, log);
                          filters[name] = f.get();
                          if (auto it = setup.find(name); it != setup.end()) it->second(*f);
                          return f;
                        }});
    }
    manager = std::make_unique<FilterManager>(encoder, worker_, connection_, specs_, nullptr);
  }
  void decodeRequest(bool end_stream) {
    manager->decodeHeaders(std::make_unique<HeaderMap>(testing::request("GET", "http", "example.com", "/")),
                           end_stream);
  }
  void respond(ScriptedFilter& f, int status, std::string body) {
    auto headers = std::make_unique<HeaderMap>();
    headers->add(":status", std::to_string(status));
    f.decoder().encodeHeaders(std::move(headers), body.empty());
    if (!body.empty()) {
      Buffer data(body);
      f.decoder().encodeData(data, true);
    }
  }

  RecordingEncoder encoder;
  std::vector<std::string> log;
  std::map<std::string, ScriptedFilter*> filters;
  std::map<std::string, std::function<void(ScriptedFilter&)>> setup;  // applied at creation
  std::unique_ptr<FilterManager> manager;

 private:
  FakeWorker worker_;
  ConnectionInfo connection_;
  std::vector<FilterManager::FilterSpec> specs_;
};

TEST_F(FilterManagerTest, DecodeInOrderEncodeInReverse) {
  makeChain({"a", "b"});
  decodeRequest(true);
  respond(*filters["b"], 200, "hi");
  EXPECT_EQ(log, (std::vector<std::string>{"a.decodeHeaders end", "b.decodeHeaders end", "b.encodeHeaders 200",
                                           "a.encodeHeaders 200", "b.encodeData 2 end", "a.encodeData 2 end"}));
  EXPECT_EQ(encoder.log, (std::vector<std::string>{"headers 200", "data 2 end"}));
  EXPECT_EQ(encoder.headers_done, 1);
}

TEST_F(FilterManagerTest, StopIterationHoldsHeadersAndBodyUntilContinue) {
  setup["a"] = [](ScriptedFilter& f) { f.stop_decode_headers = true; };
  makeChain({"a", "b"});
  decodeRequest(false);
  Buffer body("xyz");
  manager->decodeData(body, true);
  EXPECT_EQ(log, (std::vector<std::string>{"a.decodeHeaders"}));  // the body waits at a
  EXPECT_EQ(encoder.headers_done, 0);
  filters["a"]->decoder().continueDecoding();
  EXPECT_EQ(log, (std::vector<std::string>{"a.decodeHeaders", "b.decodeHeaders", "a.decodeData xyz end",
                                           "b.decodeData xyz end"}));
  EXPECT_EQ(encoder.headers_done, 1);
  filters["a"]->decoder().continueDecoding();  // a second continue is a no-op
  EXPECT_EQ(log.size(), 4u);
}

TEST_F(FilterManagerTest, StopIterationAndBufferOverTheLimitIs413) {
  setup["a"] = [](ScriptedFilter& f) { f.buffer_decode_data = true; };
  makeChain({"a", "b"});
  decodeRequest(false);
  Buffer first("0123456789");
  manager->decodeData(first, false);
  EXPECT_EQ(encoder.status, 0);
  Buffer second("0123456789");  // 20 bytes held against a limit of 16
  manager->decodeData(second, false);
  EXPECT_EQ(encoder.status, 413);
  EXPECT_TRUE(encoder.ended);
  EXPECT_EQ(manager->info().error, "request_body_buffer_limit");
}

// A filter that held the request (rate_limit's delay) resumes after the stream was answered
// (a 413 from the buffer limit): nothing may reach the filters after it, above all the router.
TEST_F(FilterManagerTest, ContinueDecodingAfterALocalReplyDoesNothing) {
  setup["a"] = [](ScriptedFilter& f) { f.stop_decode_headers = true; };
  makeChain({"a", "router"});
  decodeRequest(false);
  Buffer big(std::string(32, 'x'));
  manager->decodeData(big, false);
  ASSERT_EQ(encoder.status, 413);
  filters["a"]->decoder().continueDecoding();
  for (const auto& line : log) EXPECT_EQ(line.find("router.decode"), std::string::npos) << line;
  EXPECT_EQ(encoder.headers_done, 0);
}

TEST_F(FilterManagerTest, ContinueDecodingAfterAResetDoesNothing) {
  setup["a"] = [](ScriptedFilter& f) { f.stop_decode_headers = true; };
  makeChain({"a", "router"});
  decodeRequest(true);
  filters["a"]->decoder().resetStream("gone");
  filters["a"]->decoder().continueDecoding();
  EXPECT_EQ(log, (std::vector<std::string>{"a.decodeHeaders end"}));
  EXPECT_EQ(encoder.resets, (std::vector<std::string>{"gone"}));
}

TEST_F(FilterManagerTest, EncodeStopIterationAndContinueEncoding) {
  setup["a"] = [](ScriptedFilter& f) { f.stop_encode_headers = true; };
  makeChain({"a", "b"});
  decodeRequest(true);
  respond(*filters["b"], 200, "body");
  EXPECT_TRUE(encoder.log.empty());  // held at a, body buffered behind the headers
  filters["a"]->encoder().continueEncoding();
  EXPECT_EQ(encoder.log, (std::vector<std::string>{"headers 200", "data 4 end"}));
}

TEST_F(FilterManagerTest, BufferedResponseOverTheLimitBecomes500BeforeHeadersWentOut) {
  setup["a"] = [](ScriptedFilter& f) { f.stop_encode_headers = true; };
  makeChain({"a", "b"});
  encoder.limit = 64;  // room for the 500's own body
  decodeRequest(true);
  respond(*filters["b"], 200, std::string(80, 'x'));
  EXPECT_TRUE(encoder.log.empty());  // the 500 is held at a's encodeHeaders too
  Buffer late("late origin bytes");  // the origin goes on: none of it may follow the 500
  filters["b"]->decoder().encodeData(late, true);
  filters["a"]->encoder().continueEncoding();
  EXPECT_EQ(encoder.status, 500);
  EXPECT_TRUE(encoder.ended);
  EXPECT_NE(encoder.body.find("response body too large"), std::string::npos);
  EXPECT_EQ(encoder.body.find("late"), std::string::npos) << encoder.body;
  // The stream's record names the response that went out, not a freed one.
  ASSERT_NE(manager->info().response_headers, nullptr);
  EXPECT_EQ(manager->info().response_headers->status(), 500);
  EXPECT_EQ(manager->info().response_code, 500);
}

// The response being held was a local reply (here: b's 403 with a long body): the 500 still
// goes out, where nothing was sent before.
TEST_F(FilterManagerTest, OverflowOfALocalReplyStillAnswers) {
  setup["a"] = [](ScriptedFilter& f) { f.stop_encode_headers = true; };
  setup["b"] = [](ScriptedFilter& f) {
    f.on_decode_headers = [](ScriptedFilter& self) {
      self.decoder().sendLocalReply(403, std::string(80, 'n'), {}, "blocked");
    };
  };
  makeChain({"a", "b"});
  encoder.limit = 64;
  decodeRequest(true);
  filters["a"]->encoder().continueEncoding();
  EXPECT_EQ(encoder.status, 500);
  EXPECT_TRUE(encoder.ended);
  ASSERT_NE(manager->info().response_headers, nullptr);
  EXPECT_EQ(manager->info().response_headers->status(), 500);
}

TEST_F(FilterManagerTest, BufferedResponseOverTheLimitAfterHeadersResets) {
  setup["a"] = [](ScriptedFilter& f) { f.buffer_encode_data = true; };
  makeChain({"a", "b"});
  decodeRequest(true);
  auto headers = std::make_unique<HeaderMap>();
  headers->add(":status", "200");
  filters["b"]->decoder().encodeHeaders(std::move(headers), false);
  Buffer chunk(std::string(40, 'x'));
  filters["b"]->decoder().encodeData(chunk, false);
  EXPECT_EQ(encoder.log, (std::vector<std::string>{"headers 200"}));
  EXPECT_EQ(encoder.resets, (std::vector<std::string>{"response body buffer limit"}));
  Buffer more("x");
  filters["b"]->decoder().encodeData(more, true);  // after the reset: dropped
  EXPECT_EQ(encoder.log.size(), 1u);
  EXPECT_EQ(encoder.resets.size(), 1u);
}

// A replacement that overflows as well (a limit smaller than the 500's body) ends in a reset,
// not in endless replacing.
TEST_F(FilterManagerTest, OversizedReplacementResets) {
  setup["a"] = [](ScriptedFilter& f) { f.stop_encode_headers = true; };
  makeChain({"a", "b"});
  decodeRequest(true);
  respond(*filters["b"], 200, std::string(40, 'x'));
  EXPECT_TRUE(encoder.log.empty());
  EXPECT_EQ(encoder.resets, (std::vector<std::string>{"response body buffer limit"}));
}

TEST_F(FilterManagerTest, CompleteRunsOnStreamCompleteOnce) {
  makeChain({"a", "b"});
  decodeRequest(true);
  manager->complete();
  manager.reset();
  EXPECT_EQ(std::count(log.begin(), log.end(), "a.complete"), 1);
  EXPECT_EQ(std::count(log.begin(), log.end(), "b.complete"), 1);
}

}  // namespace
}  // namespace interpose::http
