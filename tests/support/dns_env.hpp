#pragma once
// One BIND + one PowerDNS for a whole test binary, started on first use (see dns_servers.hpp).
#include "support/dns_servers.hpp"

namespace certpilot::test {

struct DnsTestEnv {
  std::uint16_t port = 0;  // both servers' DNS port (BIND on 127.0.0.1, PowerDNS on 127.0.0.2)
  std::unique_ptr<PdnsServer> pdns;
  std::unique_ptr<BindServer> bind;
  // The operator's resolver in these tests: BIND (authoritative for a.test, forwarding b.test).
  std::string resolver() const { return bind->server(); }
};

// Started once per process, stopped at exit.
DnsTestEnv& dns_test_env();

}  // namespace certpilot::test
