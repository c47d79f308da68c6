// `certpilot dns-check`: present a test value for each name, wait until it is served, clean up, and
// say what was seen, so an operator can prove the DNS path before the first real order.
#include <cstdio>
#include <iostream>
#include <memory>

#include "agent/dns_check.hpp"
#include "cli/ca_options.hpp"
#include "cli/command.hpp"
#include "cli/common.hpp"
#include "util/cancel.hpp"

namespace certpilot::cli {
namespace {

struct DnsCheckFlags {
  std::vector<std::string> domains;
  DnsFlags dns;
};

std::string seconds_text(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms.count() < 10000 ? "%.2fs" : "%.1fs", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

std::string served_line(const agent::DnsCheckReport& report, const agent::DnsCheckName& n) {
  std::string who;
  if (report.propagation == "authoritative") {
    who = "served by every authoritative nameserver";
  } else if (report.propagation == "resolvers") {
    who = "served by every resolver given";
  } else if (report.propagation == "off") {
    return "not checked (--propagation off): waited the fixed delay, " + seconds_text(report.elapsed) + " in all";
  } else {
    return "not checked: no resolver to ask (pass --dns-resolver IP[:PORT])";
  }
  std::string line = who + " after " + seconds_text(report.elapsed);
  if (!n.servers.empty()) line += ": " + util::join(n.servers, ", ");
  return line;
}

void print_report(const agent::DnsCheckReport& report) {
  std::cout << "dns-check through " << report.provider << "\n";
  for (const auto& line : report.caa) std::cout << "  CAA " << line << "\n";
  for (const auto& n : report.names) {
    std::cout << "  " << n.name << "\n";
    if (n.written_to.empty()) {
      // Never presented, or its provider failed to add it (that error is printed below).
      std::cout << "    record:   " << n.record_name << " (nothing written)\n";
      continue;
    }
    std::cout << "    record:   " << n.written_to;
    if (n.written_to != n.record_name) std::cout << " (CNAME from " << n.record_name << ")";
    std::cout << "\n    zone:     " << (n.zone.empty() ? "(found by the provider)" : n.zone) << "\n"
              << "    provider: " << report.provider << "\n"
              << "    value:    \"" << n.value << "\"\n";
    if (report.served) std::cout << "    " << served_line(report, n) << "\n";
    std::cout << "    " << (n.cleaned_up ? "cleaned up" : "NOT cleaned up: remove the TXT value by hand") << "\n";
  }
  if (report.served) {
    std::cout << "ok: the DNS path works for " << report.names.size() << " name(s)\n";
  } else {
    std::cout << "failed after " << seconds_text(report.elapsed) << " (see the error below)\n";
  }
}

int run(const DnsCheckFlags& f) {
  auto dns = to_settings(f.dns);
  if (!dns) return report_error("dns-check", dns.error());
  agent::DnsCheckOptions options;
  options.domains = f.domains;
  options.dns = std::move(*dns);
  util::install_cancel_signal_handlers();
  auto report = agent::run_dns_check(options);
  if (!report) return report_error("dns-check", report.error());
  print_report(*report);
  std::cout.flush();
  if (report->failure) {
    // The cause first; values that were written and could not be removed after it, each named.
    const int code = report_error("dns-check", *report->failure);
    if (report->cleanup_failure) (void)report_error("dns-check", *report->cleanup_failure);
    return code;
  }
  if (report->cleanup_failure) return report_error("dns-check", *report->cleanup_failure);
  return kExitOk;
}

std::function<int()> setup(CLI::App& app) {
  auto flags = std::make_shared<DnsCheckFlags>();
  auto* cmd = app.add_subcommand(
      "dns-check", "Prove the DNS-01 path: present a test TXT value, wait until it is served, remove it");
  cmd->add_option("-d,--domain", flags->domains, "Name to check (repeatable; '*.example.com' for a wildcard)")
      ->required();
  add_dns_flags(*cmd, flags->dns);
  return [flags] { return run(*flags); };
}

}  // namespace
}  // namespace certpilot::cli

CERTPILOT_REGISTER_COMMAND("dns-check", certpilot::cli::setup);
