// Internal to the Authority's route code (authority_routes.cc, route_status.cc): what the ends
// of a route report about it, and READY derived from those reports. Pure functions of their
// inputs (no store, no clock), so every branch is testable on its own.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "auth/store.h"
#include "conf/result.h"

namespace kgate::auth::routes {

inline constexpr int64_t kReportFreshSeconds = 60;  // an older report counts as absent
inline constexpr int64_t kDefaultHeartbeatInterval = 15;  // Kuscia's, for reports without one
inline constexpr int64_t kMaxHeartbeatInterval = 300;
// A source that has not connected, or not heard TokenReady, for this many of its heartbeat
// intervals makes the route not ready (Kuscia: 45 s at its fixed 15 s).
inline constexpr int64_t kMissedHeartbeats = 3;

// A source end's view of one route.
struct SourceReport {
  int64_t revision = 0;          // of the token it sends; 0 = none negotiated
  int64_t heartbeatOkAt = 0;     // last TokenReady heartbeat, Unix s; 0 = never
  int64_t unreachableSince = 0;  // first failed attempt of the current outage; 0 = reachable
  int heartbeatState = -1;       // last GET /handshake state (0..7); -1 = none yet
  std::string error;             // last handshake/heartbeat error, one sanitised line
  int64_t heartbeatInterval = kDefaultHeartbeatInterval;  // seconds, as the source runs it
  int64_t reportedAt = 0;        // when the master received it (set by the Authority)
};

// A destination end's view of one route.
struct DestinationReport {
  std::vector<int64_t> revisions;  // of the tokens it accepts
  int64_t lastHeartbeatAt = 0;     // last heartbeat it answered, Unix s; 0 = never
  int64_t reportedAt = 0;          // when the master received it (set by the Authority)
};

// One entry of a report body, checked and normalised. `side` is "source" or "destination"
// (anything else is kept as is, for the caller to ignore).
struct ReportEntry {
  std::string name, side;
  SourceReport source;
  DestinationReport destination;
  std::string json;  // the normalised entry, as the Authority keeps it
};
// Parses {"routes":[{...}, ...]}; a Failure names the first bad field (400 on the wire).
Result<std::vector<ReportEntry>> parseReport(std::string_view body);
// Reads back a normalised entry kept by the Authority (never fails on what it wrote).
SourceReport sourceFromJson(const std::string& json);
DestinationReport destinationFromJson(const std::string& json);

// What listRoutes needs to judge every route at one instant.
struct World {
  int64_t now = 0;
  std::string master;                                     // the master's domain ID
  std::set<std::string> registered;                       // domains with a certificate (+ master)
  std::map<std::string, RouteRecord> routes;              // by name
  std::map<std::string, SourceReport> sources;            // fresh source reports, by route name
  std::map<std::string, DestinationReport> destinations;  // fresh destination reports
};

struct Readiness {
  bool ready = false;
  std::string reason;   // Kuscia's reason ("" when ready)
  std::string message;  // a human hint ("Success" when ready)
};
Readiness evaluate(const World& world, const RouteRecord& route);

// "2024-01-02T03:04:05Z"; "" for 0.
std::string rfc3339(int64_t unixSeconds);
// "[1, 2]".
std::string revisionList(const std::vector<int64_t>& revisions);

}  // namespace kgate::auth::routes
