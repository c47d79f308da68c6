#include "dns/factory.hpp"

#include "dns/challtestsrv/challtestsrv_provider.hpp"
#include "dns/exec/exec_provider.hpp"
#include "util/strings.hpp"

namespace certpilot::dns {

std::vector<std::string> provider_names() { return {"challtestsrv", "exec"}; }

Result<ProviderPtr> make_provider(const std::string& name, const std::map<std::string, std::string>& options) {
  if (name == "exec") return ExecProvider::create(options);
  if (name == "challtestsrv") return ChalltestsrvProvider::create(options);
  return util::fail(util::Errc::invalid_input,
                    "unknown DNS provider '" + name + "'; available: " + util::join(provider_names(), ", "));
}

}  // namespace certpilot::dns
