#include "gateway/metrics.h"

#include <prometheus/text_serializer.h>

#include <map>

#include "gateway/snapshot.h"

namespace kgate {

template <class T>
T& WorkerStats::series(std::unordered_map<std::string, std::unique_ptr<T>>& map,
                       const std::string& key, std::initializer_list<std::string_view> labels) {
  auto it = map.find(key);
  if (it != map.end()) return *it->second;
  auto s = std::make_unique<T>();
  for (auto l : labels) s->labels.emplace_back(l);
  std::lock_guard lock(mu_);
  return *map.emplace(key, std::move(s)).first->second;
}

void WorkerStats::onRequest(ListenerKind listener, std::string_view peer, int status,
                            std::string_view cause, double seconds) {
  if (!last_.requests || last_.listener != listener || last_.status != status ||
      last_.peer != peer || last_.cause != cause) {
    std::string code = std::to_string(status);
    std::string_view l = toString(listener);
    key_.assign(l).append("|").append(peer).append("|").append(code).append("|").append(cause);
    last_.requests = &series(requests_, key_, {l, peer, code, cause});
    key_.assign(l).append("|").append(peer);
    last_.latency = &series(latency_, key_, {l, peer});
    last_.listener = listener;
    last_.status = status;
    last_.peer.assign(peer);
    last_.cause.assign(cause);
  }
  last_.requests->value.fetch_add(1, std::memory_order_relaxed);
  Histogram& h = *last_.latency;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      h.buckets[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  h.count.fetch_add(1, std::memory_order_relaxed);
  h.sumMicros.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void WorkerStats::onAuthFailure(std::string_view reason) {
  key_.assign(reason);
  series(auth_, key_, {reason}).value.fetch_add(1, std::memory_order_relaxed);
}

void WorkerStats::onUpstreamFailure(std::string_view peer, std::string_view kind) {
  key_.assign(peer).append("|").append(kind);
  series(upstream_, key_, {peer, kind}).value.fetch_add(1, std::memory_order_relaxed);
}

void WorkerStats::onBytes(ListenerKind listener, uint64_t received, uint64_t sent) {
  Counter*& in = bytesSeries_[idx(listener) * 2];
  Counter*& out = bytesSeries_[idx(listener) * 2 + 1];
  if (!in) {
    std::string_view l = toString(listener);
    key_.assign(l).append("|received");
    in = &series(bytes_, key_, {l, "received"});
    key_.assign(l).append("|sent");
    out = &series(bytes_, key_, {l, "sent"});
  }
  in->value.fetch_add(received, std::memory_order_relaxed);
  out->value.fetch_add(sent, std::memory_order_relaxed);
}

void WorkerStats::onDownstreamTimeout(ListenerKind listener, std::string_view kind) {
  std::string_view l = toString(listener);
  key_.assign(l).append("|").append(kind);
  series(timeouts_, key_, {l, kind}).value.fetch_add(1, std::memory_order_relaxed);
}

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  reloads_ = &prometheus::BuildCounter()
                  .Name("kgate_config_reloads_total")
                  .Help("Configuration reloads (SIGHUP), by result")
                  .Register(*registry_);
  ready_ = &prometheus::BuildGauge()
                .Name("kgate_ready")
                .Help("1 while the node accepts traffic, 0 while starting or draining")
                .Register(*registry_)
                .Add({});
  certExpiry_ = &prometheus::BuildGauge()
                     .Name("kgate_certificate_expiry_timestamp_seconds")
                     .Help("Expiry (Unix time) of the node's certificates")
                     .Register(*registry_);
  prometheus::BuildGauge()
      .Name("kgate_build_info")
      .Help("kgate version")
      .Register(*registry_)
      .Add({{"version", std::string(kVersion)}})
      .Set(1);
}

void Metrics::addWorker(const WorkerStats* stats) {
  std::lock_guard lock(mu_);
  workers_.push_back(stats);
}

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::vector<ClientMetric::Label> makeLabels(const std::vector<std::string>& names,
                                            const std::vector<std::string>& values) {
  std::vector<ClientMetric::Label> out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i)
    out.push_back(ClientMetric::Label{names[i], values[i]});
  return out;
}

// One sample per worker, labelled with its index.
template <class T>
MetricFamily perWorkerFamily(const std::string& name, const std::string& help, MetricType type,
                             const std::vector<T>& values) {
  MetricFamily f{name, help, type, {}};
  for (size_t w = 0; w < values.size(); ++w) {
    ClientMetric m;
    m.label = {{"worker", std::to_string(w)}};
    (type == MetricType::Gauge ? m.gauge.value : m.counter.value) = static_cast<double>(values[w]);
    f.metric.push_back(std::move(m));
  }
  return f;
}

// Sums per-worker counters that share label values.
MetricFamily counterFamily(const std::string& name, const std::string& help,
                           const std::vector<std::string>& labelNames,
                           const std::map<std::vector<std::string>, double>& sums) {
  MetricFamily f{name, help, MetricType::Counter, {}};
  for (const auto& [labels, value] : sums) {
    ClientMetric m;
    m.label = makeLabels(labelNames, labels);
    m.counter.value = value;
    f.metric.push_back(std::move(m));
  }
  return f;
}

}  // namespace

std::vector<MetricFamily> Metrics::Collect() const {
  std::lock_guard lock(mu_);
  std::map<std::vector<std::string>, double> requests, auth, upstream, bytes, timeouts;
  struct Hist {
    std::array<uint64_t, WorkerStats::kBuckets.size()> buckets{};
    uint64_t count = 0;
    uint64_t sumMicros = 0;
  };
  std::map<std::vector<std::string>, Hist> latency;
  std::array<int64_t, 4> open{};
  std::vector<int64_t> perWorkerOpen;  // every listener's, per worker
  std::vector<uint64_t> perWorkerTaken;
  for (const WorkerStats* w : workers_) {
    w->forEachRequest([&](const auto& c) { requests[c.labels] += c.value.load(); });
    w->forEachAuthFailure([&](const auto& c) { auth[c.labels] += c.value.load(); });
    w->forEachUpstreamFailure([&](const auto& c) { upstream[c.labels] += c.value.load(); });
    w->forEachBytes([&](const auto& c) { bytes[c.labels] += c.value.load(); });
    w->forEachDownstreamTimeout([&](const auto& c) { timeouts[c.labels] += c.value.load(); });
    w->forEachLatency([&](const auto& h) {
      Hist& sum = latency[h.labels];
      for (size_t i = 0; i < h.buckets.size(); ++i) sum.buckets[i] += h.buckets[i].load();
      sum.count += h.count.load();
      sum.sumMicros += h.sumMicros.load();
    });
    int64_t onWorker = 0;
    for (size_t i = 0; i < open.size(); ++i) {
      int64_t n = w->openConnections(static_cast<ListenerKind>(i));
      open[i] += n;
      onWorker += n;
    }
    perWorkerOpen.push_back(onWorker);
    perWorkerTaken.push_back(w->connectionsTakenOver());
  }
  std::vector<MetricFamily> out;
  out.push_back(counterFamily("kgate_requests_total",
                              "Requests answered, by listener, peer domain, status code and cause",
                              {"listener", "peer", "code", "cause"}, requests));
  out.push_back(counterFamily("kgate_auth_failures_total",
                              "Inbound requests refused by token authentication, by reason",
                              {"reason"}, auth));
  out.push_back(counterFamily("kgate_upstream_failures_total",
                              "Upstream connect, TLS and reset failures, by peer and kind",
                              {"peer", "kind"}, upstream));
  out.push_back(counterFamily("kgate_body_bytes_total",
                              "Body bytes received from and sent to downstream clients",
                              {"listener", "direction"}, bytes));
  out.push_back(counterFamily("kgate_downstream_timeouts_total",
                              "Downstream connections closed by a timeout, by listener and kind "
                              "(header: handshake, first byte or request head too slow; send: "
                              "the client stopped reading; idle: keep-alive without a request)",
                              {"listener", "kind"}, timeouts));
  MetricFamily lat{"kgate_request_duration_seconds",
                   "Time from request head to the end of the response, by listener and peer",
                   MetricType::Histogram, {}};
  for (const auto& [labels, h] : latency) {
    ClientMetric m;
    m.label = makeLabels({"listener", "peer"}, labels);
    m.histogram.sample_count = h.count;
    m.histogram.sample_sum = static_cast<double>(h.sumMicros) / 1e6;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.buckets.size(); ++i) {
      cumulative += h.buckets[i];
      m.histogram.bucket.push_back({cumulative, WorkerStats::kBuckets[i]});
    }
    m.histogram.bucket.push_back({h.count, std::numeric_limits<double>::infinity()});
    lat.metric.push_back(std::move(m));
  }
  out.push_back(std::move(lat));
  MetricFamily conns{"kgate_open_connections", "Open downstream connections, by listener",
                     MetricType::Gauge, {}};
  for (size_t i = 0; i < open.size(); ++i) {
    ClientMetric m;
    m.label = {{"listener", std::string(toString(static_cast<ListenerKind>(i)))}};
    m.gauge.value = static_cast<double>(open[i]);
    conns.metric.push_back(std::move(m));
  }
  out.push_back(std::move(conns));
  // Per worker: shows whether the connections are spread (ConnectionBalancer) or piled on one.
  out.push_back(perWorkerFamily("kgate_worker_connections",
                                "Open downstream connections on each worker thread",
                                MetricType::Gauge, perWorkerOpen));
  out.push_back(perWorkerFamily("kgate_worker_connections_taken_over_total",
                                "Downstream connections each worker took over from a busier one "
                                "(the balancer) before their first byte",
                                MetricType::Counter, perWorkerTaken));
  return out;
}

std::string Metrics::render() const {
  auto families = registry_->Collect();
  auto mine = Collect();
  families.insert(families.end(), std::make_move_iterator(mine.begin()),
                  std::make_move_iterator(mine.end()));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace kgate
