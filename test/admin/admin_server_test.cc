// The admin HTTP server over real loopback sockets: keep-alive and pipelining, limits, errors,
// the token and the browser checks, and that a slow client holds only its own connection.

#include "source/admin/admin_server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "api/interpose/strings.h"

namespace interpose::admin {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct Reply {
  int status = 0;
  std::string head;  // status line and fields, lower-cased names as sent
  std::string body;
  bool has(std::string_view line) const { return head.find(line) != std::string::npos; }
};

// A blocking client on one connection.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  void send(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes)); }
  // One response; its body by content-length (the server always sends one).
  Reply read(bool head_request = false) {
    Reply reply;
    size_t end = asio::read_until(socket_, asio::dynamic_buffer(buffer_), "\r\n\r\n");
    reply.head = buffer_.substr(0, end);
    buffer_.erase(0, end);
    reply.status = std::stoi(reply.head.substr(9, 3));
    size_t length = 0;
    if (size_t at = reply.head.find("content-length: "); at != std::string::npos) {
      length = std::stoul(reply.head.substr(at + 16));
    }
    if (head_request) return reply;
    if (buffer_.size() < length) {
      asio::read(socket_, asio::dynamic_buffer(buffer_), asio::transfer_exactly(length - buffer_.size()));
    }
    reply.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return reply;
  }
  Reply exchange(std::string_view request) {
    send(request);
    return read();
  }
  // True when the server closes the connection (EOF or reset) with nothing more to read.
  bool closedByServer() {
    boost::system::error_code ec;
    char c;
    size_t n = socket_.read_some(asio::buffer(&c, 1), ec);
    return n == 0 && ec;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  std::string buffer_;
};

std::string get(std::string_view path, std::string_view extra = "") {
  return str::cat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\n", extra, "\r\n");
}

class AdminServerTest : public ::testing::Test {
 protected:
  // A short idle timeout: a test waiting for a close that never comes fails in seconds.
  static ConnectionLimits testLimits() {
    ConnectionLimits limits;
    limits.idle_timeout = 3s;
    return limits;
  }
  void start(std::string token = "", ConnectionLimits limits = testLimits()) {
    server_ = std::make_unique<AdminServer>(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), token, limits);
    EndpointTable& table = server_->endpoints();
    table.add({"GET", "/hello", false, "says hello", [](const Request&) { return Response::text(200, "hello\n"); }});
    table.add({"POST", "/echo", false, "echoes the body and ?q", [](const Request& r) {
                 return Response::text(200, str::cat(r.body, "|", r.param("q").value_or("-")));
               }});
    table.add({"DELETE", "/things/", true, "deletes a thing",
               [](const Request& r) { return Response::text(200, str::cat("deleted ", r.rest)); }});
    table.add({"GET", "/boom", false, "throws", [](const Request&) -> Response { throw std::runtime_error("kaput"); }});
    ASSERT_TRUE(server_->bind().ok());
    server_->start();
    port_ = server_->boundEndpoint().port();
  }
  void TearDown() override { server_.reset(); }

  std::unique_ptr<AdminServer> server_;
  uint16_t port_ = 0;
};

TEST_F(AdminServerTest, KeepAliveAndPipelining) {
  start();
  Client client(port_);
  Reply first = client.exchange(get("/hello"));
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "hello\n");
  EXPECT_FALSE(first.has("connection: close"));
  // Three requests in one write: three answers, in order, on the same connection.
  client.send(get("/hello") + "POST /echo?q=a%20b+c HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nxyz" +
              get("/nope"));
  EXPECT_EQ(client.read().body, "hello\n");
  EXPECT_EQ(client.read().body, "xyz|a b c");
  EXPECT_EQ(client.read().status, 404);
  // Chunked bodies too.
  Reply chunked = client.exchange(
      "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.body, "abcde|-");
  // An upgrade asked for (curl --http2 on http://) is declined by answering in HTTP/1.1.
  Reply declined = client.exchange(get("/hello",
                                       "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                                       "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"));
  EXPECT_EQ(declined.status, 200);
  EXPECT_EQ(client.exchange(get("/hello")).body, "hello\n");
  // HTTP/1.0 without keep-alive: answered, then closed.
  Client old(port_);
  Reply r = old.exchange("GET /hello HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.has("connection: close"));
  EXPECT_TRUE(old.closedByServer());
}

TEST_F(AdminServerTest, NotFoundMethodNotAllowedAndHead) {
  start();
  Client client(port_);
  EXPECT_EQ(client.exchange(get("/missing")).status, 404);
  Reply wrong = client.exchange("POST /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_TRUE(wrong.has("allow: GET, HEAD")) << wrong.head;
  Reply wrong_prefix = client.exchange(get("/things/x"));
  EXPECT_EQ(wrong_prefix.status, 405);
  EXPECT_TRUE(wrong_prefix.has("allow: DELETE")) << wrong_prefix.head;
  EXPECT_EQ(client.exchange(get("/things/")).status, 404);  // a prefix needs something after it
  Reply deleted = client.exchange("DELETE /things/a%3Ab HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(deleted.body, "deleted a:b");
  client.send("HEAD /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  Reply head = client.read(/*head_request=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.has("content-length: 6"));
  EXPECT_EQ(client.exchange(get("/hello")).body, "hello\n");  // no stray body bytes came after HEAD's
  Reply boom = client.exchange(get("/boom"));
  EXPECT_EQ(boom.status, 500);
  EXPECT_NE(boom.body.find("kaput"), std::string::npos);
}

TEST_F(AdminServerTest, MalformedRequestsGet400AndClose) {
  start();
  for (std::string bad : {std::string("GARBAGE\r\n\r\n"), std::string("GET /hello HTTP/1.1\r\nBad Name: x\r\n\r\n"),
                          std::string("GET /hello HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
                          std::string("GET http://127.0.0.1/hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
                          std::string("GET /a%zz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")}) {
    SCOPED_TRACE(bad);
    Client client(port_);
    Reply r = client.exchange(bad);
    EXPECT_EQ(r.status, 400);
    EXPECT_TRUE(r.has("connection: close")) << r.head;
    EXPECT_TRUE(client.closedByServer());
  }
  Client connect(port_);
  Reply r = connect.exchange("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(connect.closedByServer());
}

TEST_F(AdminServerTest, OversizedHeadersAndBodiesAreRefused) {
  start();
  {
    Client client(port_);
    Reply r = client.exchange(get("/hello", str::cat("X-Big: ", std::string(70 * 1024, 'a'), "\r\n")));
    EXPECT_EQ(r.status, 431);
    EXPECT_TRUE(client.closedByServer());
  }
  {
    Client client(port_);
    Reply r = client.exchange("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000000\r\n\r\n");
    EXPECT_EQ(r.status, 413);
    EXPECT_TRUE(client.closedByServer());
  }
  {
    Client client(port_);
    std::string chunk(256 * 1024, 'b');
    std::string request = "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 5; ++i) request += str::cat("40000\r\n", chunk, "\r\n");
    request += "0\r\n\r\n";
    std::thread writer([&] {
      try {
        client.send(request);
      } catch (const std::exception&) {
        // The server may close before it has read everything.
      }
    });
    Reply r = client.read();
    writer.join();
    EXPECT_EQ(r.status, 413);
  }
}

TEST_F(AdminServerTest, ASlowClientDoesNotBlockOthers) {
  ConnectionLimits limits = testLimits();
  limits.request_timeout = 300ms;
  start("", limits);
  Client slow(port_);
  slow.send("GET /hello HTTP/1.1\r\nHost: 12");  // and nothing more
  const auto begin = std::chrono::steady_clock::now();
  Client quick(port_);
  EXPECT_EQ(quick.exchange(get("/hello")).status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 200ms);
  // The slow one is closed at its request timeout.
  EXPECT_TRUE(slow.closedByServer());
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 250ms);
}

TEST_F(AdminServerTest, TokenIsRequiredEverywhere) {
  start("s3cret-token");
  Client client(port_);
  Reply none = client.exchange(get("/hello"));
  EXPECT_EQ(none.status, 401);
  EXPECT_TRUE(none.has("www-authenticate: Bearer realm=\"interpose admin\"")) << none.head;
  EXPECT_EQ(client.exchange(get("/missing")).status, 401);  // unknown paths are not revealed either
  EXPECT_EQ(client.exchange(get("/hello", "Authorization: Bearer s3cret-toke\r\n")).status, 401);
  EXPECT_EQ(client.exchange(get("/hello", "Authorization: Bearer s3cret-token2\r\n")).status, 401);
  EXPECT_EQ(client.exchange(get("/hello", "Authorization: Basic s3cret-token\r\n")).status, 401);
  EXPECT_EQ(client.exchange(get("/hello", "Authorization: Bearer s3cret-token\r\n")).status, 200);
  EXPECT_EQ(client.exchange(get("/hello", "Authorization: bearer  s3cret-token\r\n")).status, 200);
  // With a token, any Host may be named (the token is what keeps others out).
  EXPECT_EQ(
      client.exchange("GET /hello HTTP/1.1\r\nHost: proxy.corp:9901\r\nAuthorization: Bearer s3cret-token\r\n\r\n")
          .status,
      200);
}

TEST_F(AdminServerTest, BrowserAttacksAreRefused) {
  start();
  Client client(port_);
  // DNS rebinding: a page's own name, resolved to 127.0.0.1, arrives in Host.
  EXPECT_EQ(client.exchange("GET /hello HTTP/1.1\r\nHost: attacker.example:9901\r\n\r\n").status, 403);
  EXPECT_EQ(client.exchange("GET /hello HTTP/1.1\r\nHost: localhost:9901\r\n\r\n").status, 200);
  EXPECT_EQ(client.exchange("GET /hello HTTP/1.1\r\nHost: [::1]:9901\r\n\r\n").status, 200);
  // A cross-site form POST.
  std::string post = "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:9901\r\nContent-Length: 0\r\n";
  EXPECT_EQ(client.exchange(post + "Origin: https://attacker.example\r\n\r\n").status, 403);
  EXPECT_EQ(client.exchange(post + "Origin: null\r\n\r\n").status, 403);
  EXPECT_EQ(client.exchange(post + "Sec-Fetch-Site: cross-site\r\n\r\n").status, 403);
  EXPECT_EQ(client.exchange(post + "Origin: http://127.0.0.1:9901\r\n\r\n").status, 200);  // its own page
  EXPECT_EQ(client.exchange(post + "\r\n").status, 200);                                   // curl, the CLI
}

TEST_F(AdminServerTest, StopClosesIdleConnectionsAtOnce) {
  start();
  Client idle(port_);
  EXPECT_EQ(idle.exchange(get("/hello")).status, 200);
  const auto begin = std::chrono::steady_clock::now();
  server_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 500ms);
  EXPECT_TRUE(idle.closedByServer());
}

TEST(EndpointTableTest, ExactBeatsPrefixAndLongerPrefixWins) {
  EndpointTable table;
  auto say = [](std::string what) { return [what](const Request&) { return Response::text(200, what); }; };
  table.add({"GET", "/a/", true, "", say("a/")});
  table.add({"GET", "/a/b/", true, "", say("a/b/")});
  table.add({"GET", "/a/x", false, "", say("a/x")});
  Request request;
  EXPECT_EQ(table.find("GET", "/a/x").endpoint->handler(request).body, "a/x");
  auto deep = table.find("GET", "/a/b/c");
  EXPECT_EQ(deep.endpoint->handler(request).body, "a/b/");
  EXPECT_EQ(deep.rest, "c");
  EXPECT_EQ(table.find("GET", "/a/y").rest, "y");
  EXPECT_EQ(table.find("HEAD", "/a/y").endpoint->path, "/a/");
  EXPECT_TRUE(table.find("GET", "/b").allowed.empty());
  EXPECT_THROW(table.add({"GET", "/a/x", false, "", say("again")}), std::logic_error);
}

}  // namespace
}  // namespace interpose::admin
