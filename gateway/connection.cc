#include "gateway/connection.h"

#include <vector>

#include "gateway/metrics.h"

namespace kgate {

std::string_view toString(ListenerKind kind) {
  switch (kind) {
    case ListenerKind::External: return "external";
    case ListenerKind::Internal: return "internal";
    case ListenerKind::Api: return "api";
    case ListenerKind::Metrics: return "metrics";
  }
  return "-";
}

void ConnectionEnv::countTimeout(std::string_view kind) const {
  if (stats) stats->onDownstreamTimeout(info.listener, kind);
}

void ConnectionRegistry::add(Drainable* c) {
  live_.insert(c);
  if (draining_) c->drain();
}

void ConnectionRegistry::remove(Drainable* c) { live_.erase(c); }

void ConnectionRegistry::drainAll() {
  draining_ = true;
  // drain() may close a connection whose coroutine later calls remove(); iterate over a copy.
  std::vector<Drainable*> all(live_.begin(), live_.end());
  for (Drainable* c : all) c->drain();
}

void ConnectionRegistry::terminateAll() {
  std::vector<Drainable*> all(live_.begin(), live_.end());
  for (Drainable* c : all) c->terminate();
}

}  // namespace kgate
