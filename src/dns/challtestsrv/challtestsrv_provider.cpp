#include "dns/challtestsrv/challtestsrv_provider.hpp"

#include <nlohmann/json.hpp>

#include "util/strings.hpp"

namespace certpilot::dns {

Result<ProviderPtr> ChalltestsrvProvider::create(const std::map<std::string, std::string>& options) {
  std::string url = "http://127.0.0.1:8055";
  for (const auto& [key, value] : options) {
    if (key == "url") {
      url = value;
    } else {
      return util::fail(util::Errc::invalid_input, "challtestsrv: unknown option '" + key + "' (known: url)");
    }
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return util::fail(util::Errc::invalid_input, "challtestsrv: url '" + url + "' is not an http(s) URL");
  }
  http::HttpOptions http_options;
  http_options.request_timeout = std::chrono::seconds(10);
  CERTPILOT_TRY(auto client, http::HttpClient::create(http_options), "challtestsrv");
  return ProviderPtr(new ChalltestsrvProvider(url, std::move(client)));
}

// Errors name the URL only: the solver adds "challtestsrv: adding TXT <fqdn>" in front.
Result<void> ChalltestsrvProvider::call(const std::string& path, const std::string& body) {
  auto sent = http_->post(url_ + path, body, "application/json");
  if (!sent) return util::fail(sent.error());
  const auto& resp = *sent;
  if (resp.status != 200) {
    return util::fail(util::Errc::dns, "POST " + url_ + path + " answered HTTP " +
                                           std::to_string(resp.status) + ": " + util::printable_excerpt(resp.body, 200));
  }
  return util::ok();
}

Result<void> ChalltestsrvProvider::present(const TxtRecord& record) {
  // challtestsrv wants fully qualified names with the trailing dot.
  return call("/set-txt", nlohmann::json{{"host", record.fqdn + "."}, {"value", record.value}}.dump());
}

Result<void> ChalltestsrvProvider::cleanup(const TxtRecord& record) {
  return call("/clear-txt", nlohmann::json{{"host", record.fqdn + "."}}.dump());
}

}  // namespace certpilot::dns
