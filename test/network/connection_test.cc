#include "source/network/connection.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <string>
#include <thread>

namespace interpose::network {
namespace {

using namespace std::chrono_literals;

// Records what the connection hands over, draining every read.
struct Recorder : Connection::Callbacks {
  std::string data;
  bool ended = false;
  int reads = 0;
  bool closed = false;
  void onRead(Buffer& in, bool end_stream) override {
    data += in.toString();
    in.drain(in.size());
    ended = ended || end_stream;
    ++reads;
  }
  void onEvent(ConnectionEvent) override { closed = true; }
};

// A Connection on one end of a loopback TCP pair, a plain socket on the other.
class ConnectionTest : public testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket ours(io_);
    ours.connect(acceptor.local_endpoint());
    peer_ = acceptor.accept();
    connection_ = std::make_shared<Connection>(std::move(ours), 1 << 20);
    connection_->setCallbacks(&recorder_);
  }
  void TearDown() override {
    connection_->setCallbacks(nullptr);
    connection_->close(CloseType::NoFlush);
    io_.restart();
    io_.run_for(50ms);
  }
  void peerSends(const std::string& bytes) { asio::write(peer_, asio::buffer(bytes)); }
  // Runs the loop until `done` holds or a second passes.
  template <typename Pred>
  void runUntil(Pred done) {
    auto deadline = std::chrono::steady_clock::now() + 1s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(10ms);
    }
  }
  void runFor(std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }

  asio::io_context io_;
  tcp::socket peer_{io_};
  Recorder recorder_;
  ConnectionPtr connection_;
};

TEST_F(ConnectionTest, DeliversReadsInOrder) {
  connection_->startReading();
  peerSends("hello ");
  runUntil([&] { return recorder_.data == "hello "; });
  peerSends("world");
  runUntil([&] { return recorder_.data == "hello world"; });
  EXPECT_EQ(recorder_.data, "hello world");
  EXPECT_FALSE(recorder_.ended);
}

TEST_F(ConnectionTest, PausedConnectionHoldsBytesUntilResumed) {
  connection_->startReading();
  runFor(20ms);  // the read is now waiting in the reactor
  connection_->readDisable(true);
  peerSends("while paused");
  runFor(100ms);
  EXPECT_EQ(recorder_.reads, 0) << "a paused connection delivered data";
  connection_->readDisable(false);
  runUntil([&] { return recorder_.data == "while paused"; });
  EXPECT_EQ(recorder_.data, "while paused");
}

TEST_F(ConnectionTest, PausedConnectionHoldsEndOfStreamUntilResumed) {
  connection_->startReading();
  runFor(20ms);
  connection_->readDisable(true);
  peerSends("last");
  peer_.shutdown(tcp::socket::shutdown_send);
  runFor(100ms);
  EXPECT_FALSE(recorder_.ended);
  EXPECT_FALSE(connection_->peerHalfClosed());
  connection_->readDisable(false);
  runUntil([&] { return recorder_.ended; });
  EXPECT_EQ(recorder_.data, "last");
  EXPECT_TRUE(recorder_.ended);
  EXPECT_TRUE(connection_->peerHalfClosed());
}

TEST_F(ConnectionTest, ResumeThenStartReadingDeliversTheHeldReadFirst) {
  // A pooled upstream connection: paused with bytes held, resumed and handed to a new owner
  // that calls startReading() before the posted resume runs. The held bytes must come first,
  // and no read may be in progress while the consumer gets the buffer.
  connection_->startReading();
  runFor(20ms);
  connection_->readDisable(true);
  peerSends("held");
  runFor(100ms);
  ASSERT_EQ(recorder_.reads, 0);
  connection_->readDisable(false);
  connection_->startReading();
  peerSends("next");
  runUntil([&] { return recorder_.data.size() >= 8; });
  runFor(50ms);
  EXPECT_EQ(recorder_.data, "heldnext");
}

TEST_F(ConnectionTest, NestedPausesNeedAsManyResumes) {
  connection_->startReading();
  connection_->readDisable(true);
  connection_->readDisable(true);
  peerSends("x");
  connection_->readDisable(false);
  runFor(100ms);
  EXPECT_EQ(recorder_.reads, 0);
  connection_->readDisable(false);
  runUntil([&] { return recorder_.data == "x"; });
  EXPECT_EQ(recorder_.data, "x");
}

TEST_F(ConnectionTest, LargeTransferArrivesWhole) {
  connection_->startReading();
  std::string big(3 << 20, 'a');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
  std::thread writer([&] { asio::write(peer_, asio::buffer(big)); });
  runUntil([&] { return recorder_.data.size() == big.size(); });
  writer.join();
  EXPECT_TRUE(recorder_.data == big);
}

TEST_F(ConnectionTest, WritesReachThePeerAndEndStreamHalfCloses) {
  connection_->startReading();
  Buffer out("response bytes");
  connection_->write(out, true);
  EXPECT_TRUE(out.empty());
  std::string got;
  std::thread reader([&] {
    char chunk[256];
    boost::system::error_code ec;
    while (!ec) {
      size_t n = peer_.read_some(asio::buffer(chunk), ec);
      got.append(chunk, n);
    }
  });
  runFor(200ms);
  reader.join();
  EXPECT_EQ(got, "response bytes");
}

TEST_F(ConnectionTest, ManyWritesOfMixedSizesArriveInOrder) {
  // More buffers than one gathered send takes, small ones (joined) and big ones (queued
  // as they are), while the peer reads slowly: every byte arrives, in order.
  connection_->startReading();
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    std::string piece(i % 3 == 0 ? 70000 + i : 10 + i, static_cast<char>('A' + i % 26));
    expected += piece;
    Buffer b(piece);
    connection_->write(b, false);
  }
  EXPECT_EQ(connection_->bufferedBytes() > 0, true);
  std::string got;
  std::thread reader([&] {
    char chunk[8192];
    boost::system::error_code ec;
    while (got.size() < expected.size() && !ec) {
      size_t n = peer_.read_some(asio::buffer(chunk), ec);
      got.append(chunk, n);
      if (got.size() < 200000) std::this_thread::sleep_for(1ms);  // slow at first
    }
  });
  runUntil([&] { return connection_->bufferedBytes() == 0; });
  reader.join();
  EXPECT_EQ(connection_->bufferedBytes(), 0u);
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "bytes reordered or corrupted";
}

}  // namespace
}  // namespace interpose::network
