// kgate route create|list|delete|rehandshake on a master: the seed's
// create_cluster_domain_route.sh and `kubectl get cdr`.
#include <boost/json.hpp>
#include <chrono>
#include <iostream>
#include <thread>

#include "gateway/cli/commands.h"
#include "gateway/cli/node_access.h"

namespace kgate::cli {
namespace {

constexpr const char* kRouteUsage =
    "usage: kgate route create SOURCE DESTINATION URL [--auth Token|MTLS|None]\n"
    "                          [--rolling-period SECONDS] [--transit DOMAIN]\n"
    "       kgate route list | delete NAME | rehandshake NAME | probe SOURCE DESTINATION\n"
    "       [--data DIR | -c CONFIG] [--endpoint https://host:port]";

std::string routeField(const boost::json::object& o, const char* key) {
  const boost::json::value* v = o.if_contains(key);
  if (!v) return "";
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_bool()) return v->as_bool() ? "True" : "False";
  return "";
}

int list(const NodeAccess& node) {
  auto body = callApi(node, "GET", "/api/v1/routes");
  if (!body) {
    std::cerr << "kgate route list: " << body.error() << std::endl;
    return 1;
  }
  boost::system::error_code ec;
  auto doc = boost::json::parse(*body, ec);
  const boost::json::array* routes = nullptr;
  if (!ec && doc.is_object())
    if (auto* r = doc.as_object().if_contains("routes"); r && r->is_array()) routes = &r->as_array();
  if (!routes) {
    std::cerr << "kgate route list: unexpected answer from the API" << std::endl;
    return 1;
  }
  std::vector<std::vector<std::string>> rows{
      {"NAME", "SOURCE", "DESTINATION", "HOST", "AUTHENTICATION", "READY", "REASON"}};
  std::vector<std::string> hints;
  for (const auto& v : *routes) {
    if (!v.is_object()) continue;
    const auto& r = v.as_object();
    std::string reason = routeField(r, "reason");
    rows.push_back({routeField(r, "name"), routeField(r, "source"), routeField(r, "destination"),
                    routeField(r, "host"), routeField(r, "authentication"), routeField(r, "ready"),
                    reason.empty() ? "-" : reason});
    if (!reason.empty()) hints.push_back(routeField(r, "name") + ": " + routeField(r, "message"));
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 3, ' ');
    }
    std::cout << line << "\n";
  }
  if (!hints.empty()) {
    std::cout << "\n";
    for (const auto& h : hints) std::cout << h << "\n";
  }
  return 0;
}

// Asks the route's source (through the master) to check each step; prints PASS/FAIL per step.
int probe(const NodeAccess& node, const std::string& name) {
  auto started = callApi(node, "POST", "/api/v1/routes/" + name + "/probe", "{}");
  if (!started) {
    std::cerr << "kgate route probe: " << started.error() << std::endl;
    return 1;
  }
  boost::system::error_code ec;
  auto doc = boost::json::parse(*started, ec);
  std::string id = !ec && doc.is_object() ? routeField(doc.as_object(), "id") : "";
  if (id.empty()) {
    std::cerr << "kgate route probe: unexpected answer from the API" << std::endl;
    return 1;
  }
  // The source picks the probe up on its next poll of the master (every 2 s) and runs it.
  auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(45);
  std::string state, source;
  boost::json::value status;
  while (std::chrono::steady_clock::now() < giveUp) {
    auto body = callApi(node, "GET", "/api/v1/probes/" + id);
    if (!body) {
      std::cerr << "kgate route probe: " << body.error() << std::endl;
      return 1;
    }
    status = boost::json::parse(*body, ec);
    if (!ec && status.is_object()) {
      state = routeField(status.as_object(), "state");
      source = routeField(status.as_object(), "source");
    }
    if (state == "done") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  if (state != "done") {
    std::cerr << "kgate route probe: " << source << " did not run the probe within 45 s "
              << "(state: " << state << "); is its gateway running and connected to the master?"
              << std::endl;
    return 1;
  }
  std::cout << "probe " << name << " (run by " << source << ")\n";
  bool ok = true;
  if (auto* steps = status.as_object().if_contains("steps"); steps && steps->is_array()) {
    for (const auto& v : steps->as_array()) {
      if (!v.is_object()) continue;
      std::string step = routeField(v.as_object(), "step");
      std::string result = routeField(v.as_object(), "result");
      step.resize(std::max<size_t>(step.size(), 9), ' ');
      result.resize(std::max<size_t>(result.size(), 5), ' ');
      std::cout << "  " << step << result << " " << routeField(v.as_object(), "detail") << "\n";
      if (result.starts_with("FAIL")) ok = false;
    }
  }
  return ok ? 0 : 1;
}

}  // namespace

int routeCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << kRouteUsage << std::endl;
    return 2;
  }
  std::string sub = args[0];
  std::vector<std::string> positional, rest;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i].starts_with("-")) {
      rest.assign(args.begin() + static_cast<long>(i), args.end());
      break;
    }
    positional.push_back(args[i]);
  }
  std::string prefix = "kgate route " + sub + ": ";
  auto flags = Flags::parse(rest, {{"data", "", true, ""},
                                   {"config", "c", true, ""},
                                   {"endpoint", "", true, ""},
                                   {"auth", "", true, ""},
                                   {"rolling-period", "", true, ""},
                                   {"transit", "", true, ""}});
  if (!flags) {
    std::cerr << prefix << flags.error() << std::endl;
    return 2;
  }
  size_t want = sub == "create" ? 3 : sub == "list" ? 0 : sub == "probe" ? 2 : 1;
  if (sub != "create" && sub != "list" && sub != "delete" && sub != "rehandshake" &&
      sub != "probe") {
    std::cerr << "kgate route: unknown subcommand \"" << sub << "\"\n" << kRouteUsage << std::endl;
    return 2;
  }
  bool transit = flags->has("transit");
  if (!(positional.size() == want || (sub == "create" && transit && positional.size() == 2))) {
    std::cerr << prefix << "wrong arguments\n" << kRouteUsage << std::endl;
    return 2;
  }
  if (sub != "create" && (flags->has("auth") || flags->has("rolling-period") || transit)) {
    std::cerr << prefix << "--auth, --rolling-period and --transit are for route create" << std::endl;
    return 2;
  }
  int64_t period = 86400;
  if (auto p = flags->get("rolling-period")) {
    try {
      size_t used = 0;
      long long v = std::stoll(*p, &used);
      if (used != p->size() || v < 0) throw std::invalid_argument(*p);
      period = v;
    } catch (const std::exception&) {
      std::cerr << prefix << "--rolling-period: \"" << *p << "\" is not a number of seconds" << std::endl;
      return 2;
    }
  }
  auto node = locateNode(*flags);
  if (!node) {
    std::cerr << prefix << node.error() << std::endl;
    return 1;
  }
  if (sub == "list") return list(*node);
  if (sub == "probe") return probe(*node, positional[0] + "-" + positional[1]);
  Result<std::string> body = fail("");
  if (sub == "create") {
    boost::json::object req{{"source", positional[0]},
                            {"destination", positional[1]},
                            {"endpoint", positional.size() > 2 ? positional[2] : ""},
                            {"authentication", flags->get("auth").value_or("Token")},
                            {"rollingPeriodSeconds", period},
                            {"transit", flags->get("transit").value_or("")}};
    body = callApi(*node, "POST", "/api/v1/routes", boost::json::serialize(req));
  } else if (sub == "delete") {
    body = callApi(*node, "DELETE", "/api/v1/routes/" + positional[0]);
  } else {
    body = callApi(*node, "POST", "/api/v1/routes/" + positional[0] + "/rehandshake", "{}");
  }
  if (!body) {
    std::cerr << prefix << body.error() << std::endl;
    return 1;
  }
  if (sub == "create") std::cout << "route " << positional[0] << "-" << positional[1] << " created\n";
  else if (sub == "delete") std::cout << "route " << positional[0] << " deleted\n";
  else std::cout << "route " << positional[0] << ": new handshake requested\n";
  return 0;
}

}  // namespace kgate::cli
