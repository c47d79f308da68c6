#include "dns/wire/reader.hpp"

#include <cstdio>

namespace certpilot::dns::wire {

using util::Errc;
using util::fail;
using util::Result;

namespace {
Result<void> truncated(std::size_t want, std::size_t at) {
  return fail(Errc::dns, "truncated: need " + std::to_string(want) + " bytes at offset " + std::to_string(at));
}
}  // namespace

Result<std::uint8_t> Reader::u8() {
  if (pos_ + 1 > data_.size()) return fail(truncated(1, pos_).error());
  return static_cast<std::uint8_t>(data_[pos_++]);
}

Result<std::uint16_t> Reader::u16() {
  if (pos_ + 2 > data_.size()) return fail(truncated(2, pos_).error());
  const auto v = static_cast<std::uint16_t>((static_cast<unsigned char>(data_[pos_]) << 8) |
                                            static_cast<unsigned char>(data_[pos_ + 1]));
  pos_ += 2;
  return v;
}

Result<std::uint32_t> Reader::u32() {
  CERTPILOT_TRY(auto hi, u16(), "u32");
  CERTPILOT_TRY(auto lo, u16(), "u32");
  return (static_cast<std::uint32_t>(hi) << 16) | lo;
}

Result<std::string> Reader::bytes(std::size_t n) {
  if (pos_ + n > data_.size()) return fail(truncated(n, pos_).error());
  std::string out(data_.substr(pos_, n));
  pos_ += n;
  return out;
}

Result<std::string> Reader::name() {
  std::string out;
  std::size_t wire_len = 1;  // the root label
  std::size_t p = pos_;
  std::size_t resume = 0;  // where reading continues after the first pointer
  bool jumped = false;
  for (;;) {
    if (p >= data_.size()) return fail(truncated(1, p).error());
    const auto len = static_cast<unsigned char>(data_[p]);
    if ((len & 0xc0) == 0xc0) {
      if (p + 2 > data_.size()) return fail(truncated(2, p).error());
      const std::size_t target = ((len & 0x3f) << 8) | static_cast<unsigned char>(data_[p + 1]);
      // Only backward pointers: a forward or self pointer could loop.
      if (target >= p) return fail(Errc::dns, "bad compression pointer at offset " + std::to_string(p));
      if (!jumped) resume = p + 2;
      jumped = true;
      p = target;
      continue;
    }
    if ((len & 0xc0) != 0) return fail(Errc::dns, "unsupported label type at offset " + std::to_string(p));
    if (len == 0) {
      pos_ = jumped ? resume : p + 1;
      return out;
    }
    if (p + 1 + len > data_.size()) return fail(truncated(len, p + 1).error());
    wire_len += 1 + len;
    if (wire_len > 255) return fail(Errc::dns, "name over 255 bytes at offset " + std::to_string(pos_));
    if (!out.empty()) out.push_back('.');
    for (std::size_t i = p + 1; i <= p + len; ++i) {
      const auto c = static_cast<unsigned char>(data_[i]);
      if (c == '.' || c == '\\' || c <= 0x20 || c >= 0x7f) {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
        out += buf;
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    p += 1 + len;
  }
}

}  // namespace certpilot::dns::wire
