#include "acme/problem.hpp"

#include <nlohmann/json.hpp>

#include "acme/detail/json_fields.hpp"
#include "util/strings.hpp"

namespace certpilot::acme {

using nlohmann::json;

std::string Problem::short_type() const {
  const std::string prefix = kAcmeErrorPrefix;
  return type.rfind(prefix, 0) == 0 ? type.substr(prefix.size()) : type;
}

std::optional<Problem> parse_problem(const std::string& body) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  const auto type = doc.find("type");
  if (type == doc.end() || !type->is_string()) return std::nullopt;
  Problem p;
  p.type = type->get<std::string>();
  if (auto it = doc.find("detail"); it != doc.end() && it->is_string()) p.detail = it->get<std::string>();
  if (auto it = doc.find("status"); it != doc.end() && it->is_number_integer()) p.status = it->get<int>();
  if (auto it = doc.find("subproblems"); it != doc.end() && it->is_array()) {
    for (const auto& sp : *it) {
      if (!sp.is_object()) continue;
      Subproblem s;
      if (auto t = sp.find("type"); t != sp.end() && t->is_string()) s.type = t->get<std::string>();
      if (auto d = sp.find("detail"); d != sp.end() && d->is_string()) s.detail = d->get<std::string>();
      if (auto id = sp.find("identifier"); id != sp.end() && id->is_object()) {
        s.identifier = detail::str_or(*id, "type") + ":" + detail::str_or(*id, "value");
      }
      p.subproblems.push_back(std::move(s));
    }
  }
  return p;
}

util::Error problem_error(const Problem& problem, std::optional<std::chrono::seconds> retry_after) {
  using util::Errc;
  const std::string t = problem.short_type();
  Errc code = Errc::acme_problem;
  if (t == "badNonce") code = Errc::bad_nonce;
  else if (t == "rateLimited") code = Errc::rate_limited;
  else if (t == "unauthorized" || t == "caa" || t == "dns" || t == "incorrectResponse" || t == "connection")
    code = Errc::unauthorized;
  else if (t == "accountDoesNotExist") code = Errc::not_found;
  // Only problems the operator fixes in certpilot's input are invalid_input (exit 2); a CA that
  // refuses a name or a CSR is acme_problem (exit 5), as the exit-code table says.
  else if (t == "invalidContact" || t == "unsupportedContact" || t == "userActionRequired" ||
           t == "externalAccountRequired")
    code = Errc::invalid_input;
  std::string msg = "the CA answered " + t;
  if (!problem.detail.empty()) msg += ": " + util::printable_excerpt(problem.detail, 500);
  util::Error err(code, msg);
  err.acme_type = problem.type;
  err.retry_after = retry_after;
  for (const auto& sp : problem.subproblems) {
    std::string line = sp.identifier.empty() ? std::string() : sp.identifier + ": ";
    line += Problem{sp.type, {}, 0, {}}.short_type();
    if (!sp.detail.empty()) line += ": " + util::printable_excerpt(sp.detail, 300);
    err.details.push_back(std::move(line));
  }
  return err;
}

util::Error http_status_error(long status, const std::string& body) {
  return util::Error(status >= 500 ? util::Errc::network : util::Errc::acme_problem,
                     "the CA answered HTTP " + std::to_string(status) + " without a problem document" +
                         (body.empty() ? std::string() : ": " + util::printable_excerpt(body, 200)));
}

}  // namespace certpilot::acme
