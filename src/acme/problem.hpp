#pragma once
// Problem documents (RFC 8555 §6.7, RFC 7807) turned into util::Error.
#include <optional>
#include <string>
#include <vector>

#include "util/error.hpp"
#include "util/clock.hpp"

namespace certpilot::acme {

inline constexpr const char* kAcmeErrorPrefix = "urn:ietf:params:acme:error:";

struct Subproblem {
  std::string type;
  std::string detail;
  std::string identifier;  // "dns:example.test"
};

struct Problem {
  std::string type;  // full URN
  std::string detail;
  int status = 0;
  std::vector<Subproblem> subproblems;
  // "rateLimited" for "urn:ietf:params:acme:error:rateLimited"; the type itself otherwise.
  std::string short_type() const;
};

// nullopt when body is not a problem document.
std::optional<Problem> parse_problem(const std::string& body);

// The error for an ACME request that failed with a problem (or with a non-problem error body):
// "<context>: <CA> said <type>: <detail>", subproblems as details, Retry-After kept.
util::Error problem_error(const Problem& problem, std::optional<std::chrono::seconds> retry_after);
util::Error http_status_error(long status, const std::string& body);

}  // namespace certpilot::acme
