// Metrics. Request counters and latency histograms are kept per worker in plain atomics that
// only that worker writes (no lock, no shared cache line on the hot path) and are summed when
// /metrics is scraped, through a prometheus-cpp Collectable. Process-level metrics (reloads,
// readiness, certificate expiry) live in an ordinary prometheus-cpp Registry. Both are written
// with prometheus-cpp's TextSerializer.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/stream.h"

namespace kgate {

class WorkerStats {
 public:
  static constexpr std::array<double, 16> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

  void onRequest(ListenerKind listener, std::string_view peer, int status, std::string_view cause,
                 double seconds);
  void onAuthFailure(std::string_view reason);
  void onUpstreamFailure(std::string_view peer, std::string_view kind);
  void onBytes(ListenerKind listener, uint64_t received, uint64_t sent);
  // A downstream connection closed by a timeout: "header" (TLS handshake, first byte or request
  // head too slow), "send" (the client stopped reading) or "idle" (keep-alive without a request).
  void onDownstreamTimeout(ListenerKind listener, std::string_view kind);
  void connectionOpened(ListenerKind l) { open_[idx(l)].fetch_add(1, std::memory_order_relaxed); }
  void connectionClosed(ListenerKind l) { open_[idx(l)].fetch_sub(1, std::memory_order_relaxed); }
  // A connection another worker accepted and the balancer moved here (balancer.h).
  void connectionTakenOver() { takenOver_.fetch_add(1, std::memory_order_relaxed); }

  struct Counter {
    std::vector<std::string> labels;
    std::atomic<uint64_t> value{0};
  };
  struct Histogram {
    std::vector<std::string> labels;
    std::array<std::atomic<uint64_t>, kBuckets.size()> buckets{};
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sumMicros{0};
  };

  // Reader side (scrape thread).
  template <class F> void forEachRequest(F f) const { visit(requests_, f); }
  template <class F> void forEachLatency(F f) const { visit(latency_, f); }
  template <class F> void forEachAuthFailure(F f) const { visit(auth_, f); }
  template <class F> void forEachUpstreamFailure(F f) const { visit(upstream_, f); }
  template <class F> void forEachBytes(F f) const { visit(bytes_, f); }
  template <class F> void forEachDownstreamTimeout(F f) const { visit(timeouts_, f); }
  int64_t openConnections(ListenerKind l) const { return open_[idx(l)].load(); }
  uint64_t connectionsTakenOver() const { return takenOver_.load(); }

 private:
  static size_t idx(ListenerKind l) { return static_cast<size_t>(l); }
  template <class T>
  T& series(std::unordered_map<std::string, std::unique_ptr<T>>& map, const std::string& key,
            std::initializer_list<std::string_view> labels);
  template <class M, class F> void visit(const M& map, F f) const {
    std::lock_guard lock(mu_);
    for (const auto& [key, s] : map) f(*s);
  }

  // The worker finds series without the lock (only it inserts); inserts and scrapes lock.
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Counter>> requests_;
  std::unordered_map<std::string, std::unique_ptr<Histogram>> latency_;
  std::unordered_map<std::string, std::unique_ptr<Counter>> auth_;
  std::unordered_map<std::string, std::unique_ptr<Counter>> upstream_;
  std::unordered_map<std::string, std::unique_ptr<Counter>> bytes_;
  std::unordered_map<std::string, std::unique_ptr<Counter>> timeouts_;
  std::array<std::atomic<int64_t>, 4> open_{};
  std::atomic<uint64_t> takenOver_{0};
  std::string key_;  // scratch for building keys without reallocating
  // The series the worker's last request counted in: under load nearly every request counts in
  // the same ones, and finding them by key cost ~700 instructions a request (series never move).
  struct LastRequest {
    ListenerKind listener{};
    int status = 0;
    std::string peer, cause;
    Counter* requests = nullptr;
    Histogram* latency = nullptr;
  } last_;
  std::array<Counter*, 8> bytesSeries_{};  // [listener * 2 + (0 received, 1 sent)], found once
};

class Metrics final : public prometheus::Collectable {
 public:
  Metrics();
  void addWorker(const WorkerStats* stats);
  std::vector<prometheus::MetricFamily> Collect() const override;
  std::string render() const;  // Prometheus text format

  prometheus::Registry& registry() { return *registry_; }
  prometheus::Family<prometheus::Counter>& reloads() { return *reloads_; }
  prometheus::Gauge& ready() { return *ready_; }
  prometheus::Family<prometheus::Gauge>& certExpiry() { return *certExpiry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* reloads_;
  prometheus::Gauge* ready_;
  prometheus::Family<prometheus::Gauge>* certExpiry_;
  mutable std::mutex mu_;
  std::vector<const WorkerStats*> workers_;
};

}  // namespace kgate
