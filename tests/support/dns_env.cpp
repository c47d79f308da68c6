#include "support/dns_env.hpp"

namespace certpilot::test {

DnsTestEnv& dns_test_env() {
  static DnsTestEnv env = [] {
    DnsTestEnv e;
    e.port = free_dns_port({"127.0.0.1", "127.0.0.2"});
    e.pdns = PdnsServer::start(e.port, "127.0.0.2");
    e.bind = BindServer::start(e.port, "127.0.0.1", "127.0.0.2", e.port);
    return e;
  }();
  return env;
}

}  // namespace certpilot::test
