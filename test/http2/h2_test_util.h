#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/interpose/worker.h"

namespace interpose::http2_test {

// A worker whose event loop the test runs by hand (poll()).
class TestWorker : public Worker {
 public:
  boost::asio::io_context& ioContext() override { return io_; }
  uint32_t index() const override { return 0; }
  bool draining() const override { return false; }
  // Runs every handler that is ready now; returns how many ran.
  size_t poll() {
    io_.restart();
    return io_.poll();
  }

 private:
  boost::asio::io_context io_;
};

// One HTTP/2 frame as it went over the wire.
struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  int32_t stream_id = 0;
  std::string payload;
};

// The complete frames in `data` (which must start at a frame boundary); a partial tail is
// ignored.
inline std::vector<Frame> parseFrames(std::string_view data) {
  std::vector<Frame> out;
  size_t i = 0;
  while (data.size() - i >= 9) {
    auto byte = [&](size_t k) { return static_cast<uint8_t>(data[i + k]); };
    size_t length = (size_t{byte(0)} << 16) | (size_t{byte(1)} << 8) | byte(2);
    if (data.size() - i - 9 < length) break;
    Frame f;
    f.type = byte(3);
    f.flags = byte(4);
    f.stream_id = static_cast<int32_t>(
        ((uint32_t{byte(5)} << 24) | (uint32_t{byte(6)} << 16) | (uint32_t{byte(7)} << 8) | byte(8)) & 0x7fffffff);
    f.payload = std::string(data.substr(i + 9, length));
    out.push_back(std::move(f));
    i += 9 + length;
  }
  return out;
}

inline uint32_t readUint32(std::string_view bytes, size_t at) {
  auto b = [&](size_t k) { return uint32_t{static_cast<uint8_t>(bytes[at + k])}; };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

// The error codes of the GOAWAY frames in `data`, in order.
inline std::vector<uint32_t> goawayCodes(std::string_view data) {
  std::vector<uint32_t> codes;
  for (const Frame& f : parseFrames(data)) {
    if (f.type == NGHTTP2_GOAWAY && f.payload.size() >= 8) codes.push_back(readUint32(f.payload, 4));
  }
  return codes;
}

// A raw frame header plus payload.
inline std::string makeFrame(uint8_t type, uint8_t flags, int32_t stream_id, std::string_view payload = {}) {
  std::string out;
  size_t n = payload.size();
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((stream_id >> shift) & 0xff));
  out.append(payload);
  return out;
}

// Deterministic body bytes: byte i is 'a' + i % 26, so a lost or reordered chunk shows.
inline std::string patternBody(size_t n, size_t offset = 0) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + (offset + i) % 26);
  return out;
}

inline nghttp2_nv makeNv(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                    NGHTTP2_NV_FLAG_NONE};
}

using Fields = std::vector<std::pair<std::string, std::string>>;

inline std::vector<nghttp2_nv> makeNva(const Fields& fields) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size());
  for (const auto& [name, value] : fields) nva.push_back(makeNv(name, value));
  return nva;
}

inline const std::string* findField(const Fields& fields, std::string_view name) {
  for (const auto& [n, v] : fields) {
    if (n == name) return &v;
  }
  return nullptr;
}

}  // namespace interpose::http2_test
