#include "gateway/control/probes.h"

#include <boost/json.hpp>

#include "certs/keys.h"

namespace kgate {
namespace {
constexpr int64_t kForgetAfterSeconds = 300;
}

void ProbeBoard::forgetOld(int64_t now) {
  std::erase_if(probes_, [&](const auto& p) { return now - p.second.createdAt > kForgetAfterSeconds; });
}

std::string ProbeBoard::start(const std::string& route, const std::string& source, int64_t now) {
  forgetOld(now);
  std::string id = certs::randomString(12, "abcdefghijklmnopqrstuvwxyz0123456789");
  probes_[id] = Probe{route, source, "", now};
  return id;
}

std::vector<std::pair<std::string, std::string>> ProbeBoard::pendingFor(const std::string& source,
                                                                        int64_t now) {
  forgetOld(now);
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [id, p] : probes_)
    if (!p.done && p.source == source) {
      p.sent = true;
      out.emplace_back(id, p.route);
    }
  return out;
}

bool ProbeBoard::complete(const std::string& source, const std::string& id,
                          const std::string& stepsJson) {
  auto it = probes_.find(id);
  if (it == probes_.end() || it->second.source != source || it->second.done) return false;
  it->second.steps = stepsJson;
  it->second.done = true;
  return true;
}

std::optional<std::string> ProbeBoard::status(const std::string& id, int64_t now) {
  forgetOld(now);
  auto it = probes_.find(id);
  if (it == probes_.end()) return std::nullopt;
  const Probe& p = it->second;
  boost::system::error_code ec;
  boost::json::value steps = p.done ? boost::json::parse(p.steps, ec) : boost::json::array();
  if (ec) steps = boost::json::array();
  boost::json::object o{{"id", id},
                        {"route", p.route},
                        {"source", p.source},
                        {"state", p.done ? "done" : (p.sent ? "running" : "pending")},
                        {"steps", std::move(steps)}};
  return boost::json::serialize(o) + "\n";
}

}  // namespace kgate
