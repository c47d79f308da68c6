#include "dns/factory.hpp"

#include "dns/challtestsrv/challtestsrv_provider.hpp"
#include "dns/exec/exec_provider.hpp"
#include "dns/pdns/pdns_provider.hpp"
#include "dns/rfc2136/rfc2136_provider.hpp"
#include "dns/cloudflare/cloudflare_provider.hpp"
#include "util/strings.hpp"

namespace certpilot::dns {

std::vector<std::string> provider_names() { return {"challtestsrv", "cloudflare", "exec", "pdns", "rfc2136"}; }

const std::vector<std::string>* provider_option_keys(const std::string& name) {
  if (name == "exec") return &kExecOptions;
  if (name == "challtestsrv") return &kChalltestsrvOptions;
  if (name == "rfc2136") return &kRfc2136Options;
  if (name == "pdns") return &kPdnsOptions;
  if (name == "cloudflare") return &kCloudflareOptions;
  return nullptr;
}

Result<ProviderPtr> make_provider(const std::string& name, const std::map<std::string, std::string>& options,
                                  const SecretReader& secrets, const std::vector<std::string>& resolvers) {
  // pdns, cloudflare and exec find zones through their APIs or hooks, challtestsrv has none: only
  // rfc2136 asks the DNS.
  if (name == "exec") return ExecProvider::create(options);
  if (name == "challtestsrv") return ChalltestsrvProvider::create(options);
  if (name == "rfc2136") return make_rfc2136_provider(options, secrets, resolvers);
  if (name == "pdns") return make_pdns_provider(options, secrets);
  if (name == "cloudflare") return make_cloudflare_provider(options, secrets);
  return util::fail(util::Errc::invalid_input,
                    "unknown DNS provider '" + name + "'; available: " + util::join(provider_names(), ", "));
}

}  // namespace certpilot::dns
