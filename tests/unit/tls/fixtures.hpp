#pragma once
// Certificates and a running listener for the tls/ tests.
#include <memory>
#include <string>
#include <vector>

#include "support/test_ca.hpp"
#include "tls/cert_registry.hpp"
#include "tls/listener.hpp"

namespace certpilot::tls::test {

// Root "Test Root" -> intermediate "Test Intermediate" -> leaves.
struct Pki {
  certpilot::test::TestCa root = certpilot::test::TestCa::create("Test Root");
  certpilot::test::TestCa inter = root.issue_intermediate("Test Intermediate");

  // key.pem + fullchain.pem (leaf, intermediate) for names.
  CertMaterial issue(const std::vector<std::string>& names, crypto::KeyType type = crypto::KeyType::ec_p256,
                     certpilot::test::Validity validity = certpilot::test::Validity()) const;
};

// A listener on 127.0.0.1:0 fed by a registry.
struct Server {
  explicit Server(ListenerOptions options = {}, TlsSettings settings = {}, SniOptions sni = {});
  ~Server();
  std::uint16_t port() const { return listener->ports().front(); }
  void put(const std::string& id, const CertMaterial& m);  // REQUIREs success

  CertPublisher publisher;
  TlsSettings settings;
  std::unique_ptr<CertRegistry> registry;
  std::unique_ptr<Listener> listener;
};

// The value of "serial: " in a responder page.
std::string page_field(const std::string& page, const std::string& field);

}  // namespace certpilot::tls::test
