#include "source/network/client_hello.h"

#include <cstdint>

namespace interpose::network {
namespace {

// A bounds-checked reader over the ClientHello bytes.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool ok() const { return ok_; }
  size_t left() const { return data_.size(); }
  uint32_t u8() { return take(1); }
  uint32_t u16() { return take(2); }
  uint32_t u24() { return take(3); }
  std::string_view bytes(size_t n) {
    if (n > data_.size()) {
      ok_ = false;
      return {};
    }
    auto out = data_.substr(0, n);
    data_.remove_prefix(n);
    return out;
  }
  Reader sub(size_t n) { return Reader(bytes(n)); }

 private:
  uint32_t take(size_t n) {
    if (n > data_.size()) {
      ok_ = false;
      return 0;
    }
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(data_[i]);
    data_.remove_prefix(n);
    return v;
  }
  std::string_view data_;
  bool ok_ = true;
};

constexpr uint8_t kHandshake = 22;
constexpr uint8_t kClientHello = 1;
constexpr uint16_t kExtServerName = 0;
constexpr uint16_t kExtAlpn = 16;

}  // namespace

ClientHello::Result ClientHello::parse(std::string_view data) {
  sni.clear();
  alpn.clear();
  if (data.empty()) return Result::NeedMore;
  if (static_cast<uint8_t>(data[0]) != kHandshake) return Result::NotTls;
  if (data.size() >= 2 && data[1] != 3) return Result::NotTls;  // record version 3.x
  if (data.size() < 5) return Result::NeedMore;
  Reader record(data);
  record.u8();
  record.u16();
  size_t length = record.u16();
  if (length == 0 || length > 16384 + 2048) return Result::NotTls;
  if (record.left() < length) return Result::NeedMore;
  Reader hello = record.sub(length);
  if (hello.u8() != kClientHello) return Result::NotTls;
  size_t body = hello.u24();
  Reader msg = hello.sub(body);
  if (!msg.ok()) return Result::Tls;  // spans records: a TLS handshake all the same, fields unknown
  msg.u16();                          // legacy version
  msg.bytes(32);                      // random
  msg.bytes(msg.u8());                // session id
  msg.bytes(msg.u16());               // cipher suites
  msg.bytes(msg.u8());                // compression methods
  if (!msg.ok()) return Result::NotTls;
  if (msg.left() == 0) return Result::Tls;  // no extensions
  Reader extensions = msg.sub(msg.u16());
  while (extensions.ok() && extensions.left() >= 4) {
    uint16_t type = extensions.u16();
    Reader ext = extensions.sub(extensions.u16());
    if (type == kExtServerName) {
      Reader names = ext.sub(ext.u16());
      while (names.ok() && names.left() >= 3) {
        uint8_t name_type = names.u8();
        std::string_view name = names.bytes(names.u16());
        if (name_type == 0 && names.ok()) sni = std::string(name);
      }
    } else if (type == kExtAlpn) {
      Reader protocols = ext.sub(ext.u16());
      while (protocols.ok() && protocols.left() >= 1) {
        std::string_view proto = protocols.bytes(protocols.u8());
        if (protocols.ok()) alpn.emplace_back(proto);
      }
    }
  }
  return Result::Tls;
}

}  // namespace interpose::network
