#include "crypto/detail/pem.hpp"

#include "util/base64url.hpp"

namespace certpilot::crypto::detail {
namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::string_view kDashes = "-----";

}  // namespace

std::vector<PemBlock> scan_pem(std::string_view pem) {
  std::vector<PemBlock> blocks;
  std::size_t pos = 0;
  while ((pos = pem.find(kBegin, pos)) != std::string_view::npos) {
    const std::size_t label_start = pos + kBegin.size();
    const std::size_t label_end = pem.find(kDashes, label_start);
    const std::size_t line_end = pem.find('\n', label_start);
    if (label_end == std::string_view::npos || (line_end != std::string_view::npos && label_end > line_end)) {
      // A BEGIN line cut short: record it as a truncated block of unknown type.
      blocks.push_back({std::string(), pem.substr(pos), {}, false});
      break;
    }
    PemBlock block;
    block.label = std::string(pem.substr(label_start, label_end - label_start));
    const std::size_t body_start = label_end + kDashes.size();
    const std::string end_line = std::string(kEnd) + block.label + std::string(kDashes);
    const std::size_t end_pos = pem.find(end_line, body_start);
    // Another BEGIN before our END means this block was cut off.
    const std::size_t next_begin = pem.find(kBegin, body_start);
    if (end_pos == std::string_view::npos || (next_begin != std::string_view::npos && next_begin < end_pos)) {
      const std::size_t stop = next_begin == std::string_view::npos ? pem.size() : next_begin;
      block.text = pem.substr(pos, stop - pos);
      block.body = pem.substr(body_start, stop - body_start);
      block.complete = false;
      blocks.push_back(std::move(block));
      pos = stop;
      continue;
    }
    block.text = pem.substr(pos, end_pos + end_line.size() - pos);
    block.body = pem.substr(body_start, end_pos - body_start);
    block.complete = true;
    blocks.push_back(std::move(block));
    pos = end_pos + end_line.size();
  }
  return blocks;
}

std::optional<std::string> decode_pem_body(const PemBlock& block) {
  if (block.body.find(':') != std::string_view::npos) {
    return std::nullopt;  // RFC 1421 headers: not plain base64
  }
  auto der = util::base64_decode(block.body);
  if (!der || der->empty()) {
    return std::nullopt;
  }
  return der;
}

}  // namespace certpilot::crypto::detail
