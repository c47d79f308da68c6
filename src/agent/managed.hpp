#pragma once
// What `certpilot renew` and `certpilot status` do with a config: the store it names, one renewal
// pass over its certificates, and a report of each certificate's state.
#include <optional>
#include <string>
#include <vector>

#include "agent/config.hpp"
#include "agent/renewal.hpp"
#include "store/store.hpp"

namespace certpilot::agent {

util::Result<store::Store> open_store(const Config& config);

// renew_one for each configured certificate (only `names` when not empty; unknown names are an
// invalid_input error), stopping early on cancellation. `on_result` sees each result as it comes.
util::Result<std::vector<RenewResult>> renew_all(const Config& config, const std::vector<std::string>& names,
                                                 bool force, const std::function<void(const RenewResult&)>& on_result);

struct CertificateStatus {
  std::string name;
  std::vector<std::string> domains;
  std::string serial;  // empty: not issued yet
  std::optional<util::SysTime> not_after;
  std::optional<util::SysTime> renew_at;
  std::optional<util::SysTime> next_check;
  int failures = 0;
  std::string last_error;
  std::string read_error;  // meta.json could not be read
};

util::Result<std::vector<CertificateStatus>> certificate_status(const Config& config);

}  // namespace certpilot::agent
