// kgate domain add|token|list: admitting domains on a master, the seed's add_domain_lite.sh and
// `kubectl get domain`. `add` and `token` print the deploy token and nothing else, so
// `export ALICE_TOKEN=$(kgate domain add alice)` works.
#include <boost/json.hpp>
#include <ctime>
#include <iostream>

#include "conf/duration.h"
#include "gateway/cli/commands.h"
#include "gateway/cli/node_access.h"

namespace kgate::cli {
namespace {

constexpr const char* kDomainUsage =
    "usage: kgate domain add ID [--ttl DURATION] | token ID | list [--show-tokens]\n"
    "       [--data DIR | -c CONFIG] [--endpoint https://host:port]";

std::string timeText(int64_t unix) {
  if (unix <= 0) return "-";
  time_t t = static_cast<time_t>(unix);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string domainField(const boost::json::object& o, const char* key) {
  const boost::json::value* v = o.if_contains(key);
  if (!v) return "";
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_bool()) return v->as_bool() ? "true" : "false";
  return "";
}

int64_t number(const boost::json::object& o, const char* key) {
  const boost::json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : 0;
}

void printTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

int listDomains(const NodeAccess& node, bool showTokens) {
  auto body = callApi(node, "GET", std::string("/api/v1/domains") + (showTokens ? "?showTokens=true" : ""));
  if (!body) {
    std::cerr << "kgate domain list: " << body.error() << std::endl;
    return 1;
  }
  boost::system::error_code ec;
  auto doc = boost::json::parse(*body, ec);
  const boost::json::array* domains = nullptr;
  if (!ec && doc.is_object())
    if (auto* d = doc.as_object().if_contains("domains"); d && d->is_array()) domains = &d->as_array();
  if (!domains) {
    std::cerr << "kgate domain list: unexpected answer from the API" << std::endl;
    return 1;
  }
  std::vector<std::vector<std::string>> rows{
      {"DOMAIN", "ROLE", "REGISTERED", "CERT FINGERPRINT (SHA-256)", "CERT EXPIRES", "DEPLOY TOKENS"}};
  for (const auto& v : *domains) {
    if (!v.is_object()) continue;
    const auto& d = v.as_object();
    std::string tokens;
    if (auto* t = d.if_contains("tokens"); t && t->is_array()) {
      for (const auto& tv : t->as_array()) {
        if (!tv.is_object()) continue;
        const auto& to = tv.as_object();
        if (!tokens.empty()) tokens += ", ";
        tokens += domainField(to, "state");
        if (number(to, "expiresAt") > 0) tokens += " until " + timeText(number(to, "expiresAt"));
        if (showTokens) tokens += " " + domainField(to, "token");
      }
    }
    std::string fingerprint = domainField(d, "certFingerprint");
    std::string notAfter = domainField(d, "certNotAfter");
    rows.push_back({domainField(d, "domain"), domainField(d, "role"),
                    domainField(d, "registered") == "true" ? "yes" : "no",
                    fingerprint.empty() ? "-" : fingerprint, notAfter.empty() ? "-" : notAfter,
                    tokens.empty() ? "-" : tokens});
  }
  printTable(rows);
  return 0;
}

}  // namespace

int domainCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << kDomainUsage << std::endl;
    return 2;
  }
  std::string sub = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  std::string id;
  if ((sub == "add" || sub == "token") && !rest.empty() && !rest[0].starts_with("-")) {
    id = rest[0];
    rest.erase(rest.begin());
  }
  auto flags = Flags::parse(rest, {{"data", "", true, ""},
                                   {"config", "c", true, ""},
                                   {"endpoint", "", true, ""},
                                   {"ttl", "", true, ""},
                                   {"show-tokens", "", false, ""}});
  std::string prefix = "kgate domain " + sub + ": ";
  if (!flags) {
    std::cerr << prefix << flags.error() << std::endl;
    return 2;
  }
  if (sub != "add" && sub != "token" && sub != "list") {
    std::cerr << "kgate domain: unknown subcommand \"" << sub << "\"\n"
              << kDomainUsage << std::endl;
    return 2;
  }
  if (sub != "list" && id.empty()) {
    std::cerr << prefix << "the domain ID is required (kgate domain " << sub << " alice)" << std::endl;
    return 2;
  }
  if (flags->has("ttl") && sub != "add") {
    std::cerr << prefix << "--ttl is only for domain add" << std::endl;
    return 2;
  }
  if (flags->has("show-tokens") && sub != "list") {
    std::cerr << prefix << "--show-tokens is only for domain list" << std::endl;
    return 2;
  }
  int64_t ttl = 0;
  if (auto t = flags->get("ttl")) {
    auto d = conf::parseDuration(*t);
    if (!d) {
      std::cerr << prefix << "--ttl: " << d.error() << std::endl;
      return 2;
    }
    ttl = std::chrono::duration_cast<std::chrono::seconds>(*d).count();
  }
  auto node = locateNode(*flags);
  if (!node) {
    std::cerr << prefix << node.error() << std::endl;
    return 1;
  }
  if (sub == "list") return listDomains(*node, flags->has("show-tokens"));

  Result<std::string> body = fail("");
  if (sub == "add") {
    boost::json::object req{{"domain", id}, {"tokenTtlSeconds", ttl}};
    body = callApi(*node, "POST", "/api/v1/domains", boost::json::serialize(req));
  } else {
    body = callApi(*node, "GET", "/api/v1/domains/" + id + "/token");
  }
  if (!body) {
    std::cerr << prefix << body.error() << std::endl;
    return 1;
  }
  boost::system::error_code ec;
  auto doc = boost::json::parse(*body, ec);
  std::string token = !ec && doc.is_object() ? domainField(doc.as_object(), "token") : "";
  if (token.empty()) {
    std::cerr << prefix << "unexpected answer from the API" << std::endl;
    return 1;
  }
  std::cout << token << std::endl;
  return 0;
}

}  // namespace kgate::cli
