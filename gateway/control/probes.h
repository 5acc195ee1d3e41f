// `kgate route probe`: the master queues a probe for the route's source, the source runs it on
// its next poll (it is the only one holding the route's token) and sends the steps back. Kept
// in memory on the master's control thread; a probe is forgotten after five minutes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kgate {

class ProbeBoard {
 public:
  // Queues a probe of `route` to be run by `source`; returns its id.
  std::string start(const std::string& route, const std::string& source, int64_t now);
  // Probes waiting for `source`: (id, route).
  std::vector<std::pair<std::string, std::string>> pendingFor(const std::string& source,
                                                              int64_t now);
  // The source's result (JSON array of steps); false if no such pending probe is its.
  bool complete(const std::string& source, const std::string& id, const std::string& stepsJson);
  // {"id","route","source","state":"pending"|"done","steps":[...]}; nullopt if unknown.
  std::optional<std::string> status(const std::string& id, int64_t now);

 private:
  struct Probe {
    std::string route, source, steps;
    int64_t createdAt = 0;
    bool done = false;
    bool sent = false;  // handed to the source at least once
  };
  void forgetOld(int64_t now);
  std::map<std::string, Probe> probes_;
};

}  // namespace kgate
