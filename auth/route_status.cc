// Route reports and READY (route_status.h). The order of the READY checks is the order in which
// an operator has to fix things: registration first, then the source's gateway, the network,
// the destination's route table, the handshake, and last the heartbeat.
#include "auth/route_status.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <ctime>
#include <limits>

namespace kgate::auth::routes {
namespace {

namespace json = boost::json;

constexpr size_t kMaxReportBytes = 1 << 20;  // hundreds of routes fit in a few KiB
constexpr size_t kMaxErrorChars = 200;
constexpr size_t kMaxRevisions = 16;  // a destination holds two; more is garbage
constexpr int kMaxTransitDepth = 4;   // hops are direct routes; this only bounds a loop

// Text a lite sent, made safe for a one-line message.
std::string oneLine(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, kMaxErrorChars)) {
    out += (c < 0x20 || c == 0x7f) ? ' ' : char(c);
  }
  if (s.size() > kMaxErrorChars) out += "...";
  return out;
}

bool toInt(const json::value& v, int64_t& out) {
  if (v.is_int64()) {
    out = v.get_int64();
    return true;
  }
  if (v.is_uint64() && v.get_uint64() <= uint64_t(std::numeric_limits<int64_t>::max())) {
    out = int64_t(v.get_uint64());
    return true;
  }
  return false;
}

// An optional integer field: absent or null leaves `out`; false for any other type.
bool readInt(const json::object& o, std::string_view key, int64_t& out) {
  const json::value* v = o.if_contains(key);
  return v == nullptr || v->is_null() || toInt(*v, out);
}

// Fills entry from one element of "routes"; "" on success, else what is wrong with it.
std::string readEntry(const json::value& v, ReportEntry& entry) {
  if (!v.is_object()) return "is not an object";
  const json::object& o = v.as_object();
  const json::value* name = o.if_contains("name");
  const json::value* side = o.if_contains("side");
  if (name == nullptr || !name->is_string()) return "name must be a string";
  if (side == nullptr || !side->is_string()) return "side must be a string";
  entry.name = std::string(name->get_string());
  entry.side = std::string(side->get_string());
  if (entry.side == "source") {
    SourceReport& s = entry.source;
    int64_t state = s.heartbeatState;
    for (auto [key, field] :
         {std::pair{"revision", &s.revision}, std::pair{"heartbeatOkAt", &s.heartbeatOkAt},
          std::pair{"unreachableSince", &s.unreachableSince}}) {
      if (!readInt(o, key, *field) || *field < 0) {
        return std::string(key) + " must be a non-negative integer";
      }
    }
    if (!readInt(o, "heartbeatState", state) || state < -1 || state > 255) {
      return "heartbeatState must be an integer from -1 to 255";
    }
    s.heartbeatState = int(state);
    if (!readInt(o, "heartbeatInterval", s.heartbeatInterval) || s.heartbeatInterval < 1 ||
        s.heartbeatInterval > kMaxHeartbeatInterval) {
      return "heartbeatInterval must be an integer from 1 to " +
             std::to_string(kMaxHeartbeatInterval);
    }
    if (const json::value* e = o.if_contains("error"); e != nullptr && !e->is_null()) {
      if (!e->is_string()) return "error must be a string";
      s.error = oneLine(e->get_string());
    }
    entry.json = json::serialize(json::object{{"revision", s.revision},
                                              {"heartbeatOkAt", s.heartbeatOkAt},
                                              {"unreachableSince", s.unreachableSince},
                                              {"heartbeatState", s.heartbeatState},
                                              {"heartbeatInterval", s.heartbeatInterval},
                                              {"error", s.error}});
  } else if (entry.side == "destination") {
    DestinationReport& d = entry.destination;
    if (!readInt(o, "lastHeartbeatAt", d.lastHeartbeatAt) || d.lastHeartbeatAt < 0) {
      return "lastHeartbeatAt must be a non-negative integer";
    }
    if (const json::value* r = o.if_contains("revisions"); r != nullptr && !r->is_null()) {
      if (!r->is_array()) return "revisions must be an array of integers";
      if (r->get_array().size() > kMaxRevisions) return "revisions has more than 16 entries";
      for (const json::value& item : r->get_array()) {
        int64_t revision = -1;
        if (!toInt(item, revision) || revision < 0) {
          return "revisions must be an array of non-negative integers";
        }
        d.revisions.push_back(revision);
      }
    }
    json::array revisions(d.revisions.begin(), d.revisions.end());
    entry.json = json::serialize(
        json::object{{"revisions", std::move(revisions)}, {"lastHeartbeatAt", d.lastHeartbeatAt}});
  }
  return "";
}

Readiness notReady(std::string reason, std::string message) {
  return Readiness{false, std::move(reason), std::move(message)};
}

Readiness evaluateAt(const World& w, const RouteRecord& r, int depth) {
  const std::string& src = r.source;
  const std::string& dst = r.destination;

  // 1. A transit route works when both of its hops do; the first broken hop says why.
  if (!r.transit.empty()) {
    for (const auto& [from, to] : {std::pair{src, r.transit}, std::pair{r.transit, dst}}) {
      const std::string hop = from + "-" + to;
      auto it = w.routes.find(hop);
      if (it == w.routes.end() || it->second.source != from || it->second.destination != to) {
        return notReady("TokenNotGenerate", "via " + hop + ": route " + hop + " does not exist");
      }
      if (depth >= kMaxTransitDepth) {
        return notReady("TokenNotGenerate", "via " + hop + ": transit routes nest too deep");
      }
      Readiness h = evaluateAt(w, it->second, depth + 1);
      if (!h.ready) return notReady(h.reason, "via " + hop + ": " + h.message);
    }
    return Readiness{true, "", "Success"};
  }

  // 2, 3. Without both certificates there are no public keys to handshake with.
  auto registered = [&](const std::string& d) { return d == w.master || w.registered.count(d); };
  if (!registered(dst)) {
    return notReady("DestinationIsNotAuthorized", dst + " has not registered with the master yet");
  }
  if (!registered(src)) {
    return notReady("TokenNotGenerate", src + " has not registered with the master yet");
  }

  // 4. Everything below is the source's word.
  auto reported = w.sources.find(r.name);
  if (reported == w.sources.end()) {
    return notReady("TokenNotGenerate",
                    src + " has not reported this route yet (is its gateway running?)");
  }
  const SourceReport& s = reported->second;
  const int64_t grace = kMissedHeartbeats * s.heartbeatInterval;

  // 5. Network: the source keeps failing to connect at all.
  if (s.unreachableSince != 0 && w.now - s.unreachableSince >= grace) {
    std::string where = r.endpoint.empty() ? "its master endpoint" : r.endpoint;
    return notReady("DestinationUnreachable", src + " cannot reach " + dst + " at " + where +
                                                  " since " + rfc3339(s.unreachableSince) +
                                                  (s.error.empty() ? "" : ": " + s.error));
  }

  // 6. The destination answers but has no such route (it has not fetched it yet).
  if (s.heartbeatState == 5) {  // HeartbeatState::NoAuthentication
    return notReady("DestinationIsNotAuthorized", dst + " does not know this route yet");
  }

  // 7, 8. Token routes: a negotiated token both ends agree on.
  if (r.authentication == "Token") {
    if (s.revision == 0) {
      return notReady("TokenNotGenerate", "no token negotiated yet: " +
                                              (s.error.empty() ? "handshake pending" : s.error));
    }
    // The two ends report at different moments, and with a short rolling period the tokens
    // move faster than the reports; so the evidence is the source's heartbeat (TokenReady for
    // revision r means the destination holds r), and the destination's report counts only when
    // it is newer than the source's and holds nothing as new as the source's revision (the
    // destination lost its tokens).
    auto d = w.destinations.find(r.name);
    const std::vector<int64_t>* accepted = d == w.destinations.end() ? nullptr : &d->second.revisions;
    bool destinationBehind =
        accepted && d->second.reportedAt >= s.reportedAt &&
        (accepted->empty() || *std::max_element(accepted->begin(), accepted->end()) < s.revision);
    if (s.heartbeatState == 4 || destinationBehind) {  // 4: HeartbeatState::TokenNotFound
      static const std::vector<int64_t> none;
      return notReady("TokenRevisionNotMatch", src + " sends revision " +
                                                   std::to_string(s.revision) + ", " + dst +
                                                   " accepts " + revisionList(accepted ? *accepted : none));
    }
  }

  // 9. Everything looks right, but only a recent heartbeat proves it works end to end.
  if (s.heartbeatOkAt == 0 || w.now - s.heartbeatOkAt > grace) {
    return notReady("HeartBeatTimeout",
                    "no successful heartbeat from " + src + " to " + dst + " since " +
                        (s.heartbeatOkAt == 0 ? std::string("start") : rfc3339(s.heartbeatOkAt)));
  }
  return Readiness{true, "", "Success"};
}

}  // namespace

Result<std::vector<ReportEntry>> parseReport(std::string_view body) {
  if (body.size() > kMaxReportBytes) return fail("route report exceeds 1 MiB");
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return fail("route report is not valid JSON: " + ec.message());
  const json::value* list = v.is_object() ? v.as_object().if_contains("routes") : nullptr;
  if (list == nullptr || !list->is_array()) {
    return fail("route report must be an object with a \"routes\" array");
  }
  std::vector<ReportEntry> entries;
  size_t i = 0;
  for (const json::value& item : list->get_array()) {
    ReportEntry entry;
    if (std::string why = readEntry(item, entry); !why.empty()) {
      return fail("route report routes[" + std::to_string(i) + "]: " + why);
    }
    entries.push_back(std::move(entry));
    ++i;
  }
  return entries;
}

SourceReport sourceFromJson(const std::string& text) {
  SourceReport s;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return s;
  const json::object& o = v.as_object();
  int64_t state = -1;
  readInt(o, "revision", s.revision);
  readInt(o, "heartbeatOkAt", s.heartbeatOkAt);
  readInt(o, "unreachableSince", s.unreachableSince);
  readInt(o, "heartbeatState", state);
  s.heartbeatState = int(state);
  readInt(o, "heartbeatInterval", s.heartbeatInterval);
  if (const json::value* e = o.if_contains("error"); e != nullptr && e->is_string()) {
    s.error = std::string(e->get_string());
  }
  return s;
}

DestinationReport destinationFromJson(const std::string& text) {
  DestinationReport d;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return d;
  const json::object& o = v.as_object();
  readInt(o, "lastHeartbeatAt", d.lastHeartbeatAt);
  if (const json::value* r = o.if_contains("revisions"); r != nullptr && r->is_array()) {
    for (const json::value& item : r->get_array()) {
      if (item.is_int64()) d.revisions.push_back(item.get_int64());
    }
  }
  return d;
}

Readiness evaluate(const World& world, const RouteRecord& route) {
  return evaluateAt(world, route, 0);
}

std::string rfc3339(int64_t seconds) {
  if (seconds == 0) return "";
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "";
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

std::string revisionList(const std::vector<int64_t>& revisions) {
  std::string out = "[";
  for (size_t i = 0; i < revisions.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(revisions[i]);
  }
  return out + "]";
}

}  // namespace kgate::auth::routes
