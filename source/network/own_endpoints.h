#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <vector>

namespace interpose::network {

// The addresses this process accepts connections on, so that a request whose destination is
// the proxy itself is refused instead of looping (each hop would open another connection to
// ourselves until the fds ran out). A listener on 0.0.0.0 or :: is reached through every
// local address: those of the machine's interfaces, read once, and all of 127.0.0.0/8.
class OwnEndpoints {
 public:
  OwnEndpoints() = default;
  // `listening`: the bound endpoints; the interface addresses are read now.
  explicit OwnEndpoints(std::vector<boost::asio::ip::tcp::endpoint> listening);
  // For tests: with the local addresses given instead of read.
  OwnEndpoints(std::vector<boost::asio::ip::tcp::endpoint> listening, std::vector<boost::asio::ip::address> local);

  bool contains(const boost::asio::ip::tcp::endpoint& endpoint) const;

 private:
  bool isLocal(const boost::asio::ip::address& address) const;

  std::vector<boost::asio::ip::tcp::endpoint> listening_;  // addresses in plain (unmapped) form
  std::vector<boost::asio::ip::address> local_;
};

}  // namespace interpose::network
