#pragma once
// Bounds-checked reading of DNS wire data; internal to dns/wire (and its tests).
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace certpilot::dns::wire {

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  std::size_t pos() const { return pos_; }
  std::size_t size() const { return data_.size(); }

  util::Result<std::uint8_t> u8();
  util::Result<std::uint16_t> u16();
  util::Result<std::uint32_t> u32();
  util::Result<std::string> bytes(std::size_t n);
  // A possibly compressed name (RFC 1035 §4.1.4) as dotted text without the trailing dot. Pointers
  // must point backwards (which also rules out loops); labels are at most 63 bytes, names 255.
  // Bytes that would be ambiguous in dotted text ('.', '\\', non-printables) are escaped as \DDD.
  util::Result<std::string> name();

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

}  // namespace certpilot::dns::wire
