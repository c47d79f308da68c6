#pragma once
// Pebble's challenge test server (pebble-challtestsrv): its management API /set-txt and
// /clear-txt. For tests and local development only. /clear-txt removes every value at a name
// (the API has no per-value delete), so clean-up of one of two values at a name removes both.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dns/provider.hpp"
#include "http/client.hpp"

namespace certpilot::dns {

// The options ChalltestsrvProvider::create accepts (config checks use them too).
inline const std::vector<std::string> kChalltestsrvOptions{"url"};

class ChalltestsrvProvider final : public Provider {
 public:
  // Options: url=http://127.0.0.1:8055 (default).
  static Result<ProviderPtr> create(const std::map<std::string, std::string>& options);
  std::string_view name() const override { return "challtestsrv"; }
  Result<void> present(const TxtRecord& record) override;
  Result<void> cleanup(const TxtRecord& record) override;

 private:
  ChalltestsrvProvider(std::string url, std::unique_ptr<http::HttpClient> http)
      : url_(std::move(url)), http_(std::move(http)) {}
  Result<void> call(const std::string& path, const std::string& body);
  std::string url_;
  std::unique_ptr<http::HttpClient> http_;
};

}  // namespace certpilot::dns
