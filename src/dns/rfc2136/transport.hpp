#pragma once
// One DNS request/answer exchange with one server over UDP, or TCP (RFC 1035 §4.2.2 framing) when
// the request is over 512 bytes or the UDP answer is truncated (RFC 2136 §6, RFC 7766 §5).
// Our own sockets rather than c-ares: ares_send gives the request a new id, which the TSIG MAC
// (computed before sending) would not cover. Thread-safe (no shared state).
#include <chrono>
#include <string>

#include "util/result.hpp"

namespace certpilot::dns::rfc2136 {

// server: "ip:port" or "[ipv6]:port". The answer must carry the request's id.
util::Result<std::string> exchange(const std::string& server, const std::string& request,
                                   std::chrono::milliseconds timeout);

}  // namespace certpilot::dns::rfc2136
