#include "source/exe/admin_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <memory>

#include "api/interpose/strings.h"
#include "source/http/http1/parser.h"
#include "source/network/connection.h"

namespace interpose {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Replies are small JSON documents; anything much larger is not our admin server.
constexpr size_t kMaxReplyBytes = 64 * 1024 * 1024;

class ReplyReader : public http1::Parser::Handler {
 public:
  int onHeaders(http1::MessageHead& head) override {
    reply.status = head.status;
    // 1xx are interim: the real reply follows.
    return http1::Parser::kParseBody;
  }
  void onBody(std::string_view data) override {
    if (reply.body.size() + data.size() > kMaxReplyBytes) {
      too_large = true;
      return;
    }
    reply.body.append(data);
  }
  void onMessageComplete(std::unique_ptr<HeaderMap>) override {
    if (reply.status >= 200) complete = true;
  }

  AdminReply reply;
  bool complete = false;
  bool too_large = false;
};

}  // namespace

absl::StatusOr<AdminReply> adminRequest(const tcp::endpoint& address, std::string_view method, std::string_view target,
                                        std::string_view token, std::chrono::milliseconds timeout) {
  const std::string where = network::formatEndpoint(address);
  asio::io_context io;
  tcp::socket socket(io);
  ReplyReader reader;
  http1::Parser parser(http1::Parser::Type::Response, reader, 64 * 1024);
  std::string request = str::cat(method, " ", target, " HTTP/1.1\r\nHost: ", where,
                                 "\r\nUser-Agent: interpose-cli\r\nAccept: application/json\r\n");
  if (!token.empty()) request += str::cat("Authorization: Bearer ", token, "\r\n");
  request += "Content-Length: 0\r\nConnection: close\r\n\r\n";

  boost::system::error_code error;
  std::string input;
  char buffer[16 * 1024];
  bool connected = false;
  bool done = false;
  std::function<void()> read = [&] {
    socket.async_read_some(asio::buffer(buffer), [&](boost::system::error_code ec, size_t n) {
      if (n > 0) {
        std::string_view data(buffer, n);
        while (!data.empty() && !done) {
          size_t consumed = 0;
          auto result = parser.execute(data, consumed);
          data.remove_prefix(consumed);
          if (result == http1::Parser::Result::Error) {
            error = asio::error::invalid_argument;
            done = true;
          } else if (result == http1::Parser::Result::Paused) {
            if (reader.complete) {
              done = true;
            } else {
              parser.resume();  // an interim 1xx
            }
          } else if (result == http1::Parser::Result::Upgrade) {
            error = asio::error::invalid_argument;
            done = true;
          }
        }
      }
      if (done) return;
      if (ec == asio::error::eof) {
        // A reply without a length ends when the server closes.
        if (parser.finish() == http1::Parser::Result::Paused && reader.complete) {
          done = true;
        } else {
          error = ec;
        }
        return;
      }
      if (ec) {
        error = ec;
        return;
      }
      read();
    });
  };
  socket.async_connect(address, [&](boost::system::error_code ec) {
    if (ec) {
      error = ec;
      return;
    }
    connected = true;
    asio::async_write(socket, asio::buffer(request), [&](boost::system::error_code ec2, size_t) {
      if (ec2) {
        error = ec2;
        return;
      }
      read();
    });
  });
  io.run_for(timeout);

  if (!done && !error) {
    return absl::DeadlineExceededError(
        str::cat("the admin server at ", where, " did not answer within ", timeout.count() / 1000, " s"));
  }
  if (!connected) {
    std::string why = error == asio::error::connection_refused ? "" : str::cat("; connect: ", error.message());
    return absl::UnavailableError(
        str::cat("no interpose admin server at ", where, " (is interpose running? is admin: set in its config?)", why));
  }
  if (!done) {
    return absl::UnavailableError(str::cat("the admin server at ", where, " closed the connection without a complete ",
                                           "HTTP reply (", error.message(), ")"));
  }
  if (reader.too_large || error) {
    return absl::DataLossError(str::cat("the server at ", where, " did not send a valid admin reply"));
  }
  return reader.reply;
}

}  // namespace interpose
