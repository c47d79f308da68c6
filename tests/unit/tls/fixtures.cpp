#include "fixtures.hpp"

#include <catch2/catch.hpp>

namespace certpilot::tls::test {

CertMaterial Pki::issue(const std::vector<std::string>& names, crypto::KeyType type,
                        certpilot::test::Validity validity) const {
  auto key = crypto::PrivateKey::generate(type);
  REQUIRE(key);
  CertMaterial m;
  m.key_pem = key->to_pem();
  m.chain_pem = inter.issue_leaf(*key, names, validity.not_before, validity.not_after) + inter.cert_pem();
  return m;
}

Server::Server(ListenerOptions options, TlsSettings s, SniOptions sni) : settings(std::move(s)) {
  registry = std::make_unique<CertRegistry>(publisher, settings, std::move(sni));
  options.listen = {"127.0.0.1:0"};
  if (options.threads == 0) {
    options.threads = 2;
  }
  auto l = Listener::create(std::move(options), settings, publisher);
  REQUIRE(l.has_value());
  listener = std::move(*l);
  listener->start();
}

Server::~Server() { listener->stop(); }

void Server::put(const std::string& id, const CertMaterial& m) {
  auto r = registry->put(id, m, std::chrono::system_clock::now());
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.has_value());
}

std::string page_field(const std::string& page, const std::string& field) {
  const auto at = page.find("\n" + field + ": ");
  if (at == std::string::npos) {
    return "";
  }
  const auto start = at + field.size() + 3;
  return page.substr(start, page.find('\n', start) - start);
}

}  // namespace certpilot::tls::test
