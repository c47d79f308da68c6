#include "util/error.hpp"

namespace certpilot::util {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::invalid_input: return "invalid_input";
    case Errc::not_found: return "not_found";
    case Errc::io: return "io";
    case Errc::network: return "network";
    case Errc::tls: return "tls";
    case Errc::dns: return "dns";
    case Errc::timeout: return "timeout";
    case Errc::acme_problem: return "acme_problem";
    case Errc::bad_nonce: return "bad_nonce";
    case Errc::rate_limited: return "rate_limited";
    case Errc::unauthorized: return "unauthorized";
    case Errc::conflict: return "conflict";
    case Errc::cancelled: return "cancelled";
    case Errc::internal: return "internal";
  }
  return "unknown";
}

Error Error::wrapped(std::string_view context) const& {
  Error copy = *this;
  return std::move(copy).wrapped(context);
}

Error Error::wrapped(std::string_view context) && {
  std::string msg;
  msg.reserve(context.size() + 2 + message.size());
  msg.append(context).append(": ").append(message);
  message = std::move(msg);
  return std::move(*this);
}

std::string Error::describe() const {
  std::string out = message;
  for (const auto& d : details) {
    out.append("; ").append(d);
  }
  return out;
}

}  // namespace certpilot::util
