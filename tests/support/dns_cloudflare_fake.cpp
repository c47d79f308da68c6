#include "support/dns_cloudflare_fake.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace certpilot::test {

using nlohmann::json;

namespace {

std::string url_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> query_params(const std::string& query) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < query.size()) {
    auto amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    const std::string kv = query.substr(start, amp - start);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) out[url_decode(kv.substr(0, eq))] = url_decode(kv.substr(eq + 1));
    start = amp + 1;
  }
  return out;
}

json envelope_error(int code, const std::string& message) {
  return json{{"success", false}, {"errors", json::array({{{"code", code}, {"message", message}}})}, {"messages", json::array()},
              {"result", nullptr}};
}

json envelope_ok(json result) {
  return json{{"success", true}, {"errors", json::array()}, {"messages", json::array()}, {"result", std::move(result)}};
}

json to_json(const FakeCloudflare::Record& r, const std::string& zone_name) {
  return json{{"id", r.id},     {"zone_id", r.zone_id}, {"zone_name", zone_name}, {"type", r.type},
              {"name", r.name}, {"content", r.content}, {"ttl", r.ttl},           {"proxied", false}};
}

}  // namespace

FakeCloudflare::FakeCloudflare(std::string token, std::map<std::string, std::string> zones)
    : token_(std::move(token)), zones_(std::move(zones)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(listen_fd_, 16) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    throw std::runtime_error("FakeCloudflare: cannot listen on loopback");
  }
  port_ = ntohs(sa.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeCloudflare::~FakeCloudflare() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  ::shutdown(listen_fd_, SHUT_RDWR);
  thread_.join();
  ::close(listen_fd_);
}

std::string FakeCloudflare::api_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/client/v4"; }

void FakeCloudflare::add_record(const Record& r) {
  std::lock_guard lock(mu_);
  Record copy = r;
  if (copy.id.empty()) copy.id = "rec" + std::to_string(next_id_++);
  records_.push_back(copy);
}

std::vector<FakeCloudflare::Record> FakeCloudflare::records(const std::string& name) const {
  std::lock_guard lock(mu_);
  std::vector<Record> out;
  for (const auto& r : records_) {
    if (r.name == name && r.type == "TXT") out.push_back(r);
  }
  return out;
}

std::vector<std::string> FakeCloudflare::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FakeCloudflare::fail_next(int n) {
  std::lock_guard lock(mu_);
  fail_next_ = n;
}

void FakeCloudflare::echo_request_headers(bool on) {
  std::lock_guard lock(mu_);
  echo_headers_ = on;
}

void FakeCloudflare::serve() {
  for (;;) {
    pollfd p{listen_fd_, POLLIN, 0};
    ::poll(&p, 1, 200);
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if ((p.revents & POLLIN) == 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::string in;
    char buf[4096];
    std::size_t header_end = std::string::npos;
    std::size_t want = 0;
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
      if (header_end == std::string::npos && (header_end = in.find("\r\n\r\n")) != std::string::npos) {
        const auto cl = in.find("ontent-Length:");  // "Content-Length" or "content-length"
        const auto cl2 = cl == std::string::npos ? in.find("ontent-length:") : cl;
        want = header_end + 4 + (cl2 != std::string::npos && cl2 < header_end ? std::stoul(in.substr(cl2 + 14)) : 0);
      }
      if (header_end != std::string::npos && in.size() >= want) break;
    }
    const std::string request_line = in.substr(0, in.find("\r\n"));
    const auto sp1 = request_line.find(' ');
    const auto sp2 = request_line.find(' ', sp1 + 1);
    const std::string method = request_line.substr(0, sp1);
    const std::string target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string auth;
    for (const char* h : {"\r\nAuthorization: ", "\r\nauthorization: "}) {
      const auto a = in.find(h);
      if (a != std::string::npos && a < header_end) auth = in.substr(a + std::strlen(h), in.find("\r\n", a + 2) - a - std::strlen(h));
    }
    const std::string body = header_end == std::string::npos ? "" : in.substr(header_end + 4);
    int status = 200;
    std::string out = handle(method, target, auth, body, &status);
    bool echo = false;
    {
      std::lock_guard lock(mu_);
      echo = echo_headers_;
    }
    if (echo && status >= 400) {
      // The credential first, so that even a short excerpt of the answer would show it.
      const std::string headers = "Authorization: " + auth + "\r\n" + in.substr(0, std::min(header_end, in.size()));
      if (status == 500) {
        out = "<html><body>502 Bad Gateway<pre>" + headers + "</pre></body></html>";
      } else if (auto j = json::parse(out, nullptr, false); !j.is_discarded() && j.contains("errors")) {
        for (auto& e : j["errors"]) e["message"] = e["message"].get<std::string>() + " (request was: " + headers + ")";
        out = j.dump();
      }
    }
    const std::string type = status == 500 ? "text/html" : "application/json";
    const std::string resp = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + type +
                             "\r\nContent-Length: " + std::to_string(out.size()) + "\r\nConnection: close\r\n\r\n" + out;
    ::send(fd, resp.data(), resp.size(), MSG_NOSIGNAL);
    ::close(fd);
  }
}

std::string FakeCloudflare::handle(const std::string& method, const std::string& target, const std::string& auth,
                                   const std::string& body, int* status) {
  std::lock_guard lock(mu_);
  requests_.push_back(method + " " + target);
  if (fail_next_ > 0) {
    --fail_next_;
    *status = 500;
    return "<html><body>502 Bad Gateway</body></html>";
  }
  if (auth != "Bearer " + token_) {
    *status = 403;
    return envelope_error(10000, "Authentication error").dump();
  }
  const std::string prefix = "/client/v4";
  if (target.rfind(prefix, 0) != 0) {
    *status = 404;
    return envelope_error(7000, "No route for that URI").dump();
  }
  const auto q = target.find('?');
  const std::string path = target.substr(prefix.size(), q == std::string::npos ? std::string::npos : q - prefix.size());
  const auto params = query_params(q == std::string::npos ? "" : target.substr(q + 1));
  auto zone_name_of = [&](const std::string& id) -> std::string {
    for (const auto& [name, zid] : zones_) {
      if (zid == id) return name;
    }
    return "";
  };
  if (method == "GET" && path == "/zones") {
    json result = json::array();
    for (const auto& [name, id] : zones_) {
      if (!params.count("name") || params.at("name") == name) result.push_back({{"id", id}, {"name", name}, {"status", "active"}});
    }
    return envelope_ok(result).dump();
  }
  // /zones/<id>/dns_records[/<rid>]
  const std::string zones_prefix = "/zones/";
  const auto rec_pos = path.find("/dns_records");
  if (path.rfind(zones_prefix, 0) != 0 || rec_pos == std::string::npos) {
    *status = 404;
    return envelope_error(7000, "No route for that URI").dump();
  }
  const std::string zone_id = path.substr(zones_prefix.size(), rec_pos - zones_prefix.size());
  const std::string zone_name = zone_name_of(zone_id);
  if (zone_name.empty()) {
    *status = 404;
    return envelope_error(7003, "Could not route to /zones/" + zone_id + "/dns_records, perhaps your object identifier is invalid?").dump();
  }
  const std::string rest = path.substr(rec_pos + std::string("/dns_records").size());
  if (method == "GET" && rest.empty()) {
    json result = json::array();
    for (const auto& r : records_) {
      if (r.zone_id != zone_id) continue;
      if (params.count("type") && params.at("type") != r.type) continue;
      if (params.count("name") && params.at("name") != r.name) continue;
      result.push_back(to_json(r, zone_name));
    }
    return envelope_ok(result).dump();
  }
  if (method == "POST" && rest.empty()) {
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j.contains("name") || !j.contains("content")) {
      *status = 400;
      return envelope_error(9207, "Request body is invalid.").dump();
    }
    Record r{"", zone_id, j["type"].get<std::string>(), j["name"].get<std::string>(), j["content"].get<std::string>(),
             j.value("ttl", 1L)};
    if (r.ttl != 1 && r.ttl < 60) {
      *status = 400;
      return envelope_error(9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.").dump();
    }
    for (const auto& e : records_) {
      if (e.zone_id == zone_id && e.type == r.type && e.name == r.name && e.content == r.content) {
        *status = 400;
        return envelope_error(81058, "An identical record already exists.").dump();
      }
    }
    r.id = "rec" + std::to_string(next_id_++);
    records_.push_back(r);
    return envelope_ok(to_json(r, zone_name)).dump();
  }
  if (method == "DELETE" && rest.size() > 1) {
    const std::string rid = rest.substr(1);
    for (auto it = records_.begin(); it != records_.end(); ++it) {
      if (it->zone_id == zone_id && it->id == rid) {
        records_.erase(it);
        return envelope_ok(json{{"id", rid}}).dump();
      }
    }
    *status = 404;
    return envelope_error(81044, "Record does not exist.").dump();
  }
  *status = 405;
  return envelope_error(10405, "Method not allowed").dump();
}

}  // namespace certpilot::test
