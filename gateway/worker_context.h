// What the request handlers of one worker share: its executor, deadlines, upstream pool,
// statistics, access-log buffers and the current config snapshot. Only that worker's thread
// touches it (the snapshot pointer is replaced by a task posted to the worker).
#pragma once

#include <memory>

#include "auth/authority.h"
#include "gateway/access_log.h"
#include "gateway/deadline.h"
#include "gateway/metrics.h"
#include "gateway/snapshot.h"
#include "gateway/upstream_pool.h"

namespace kgate {

class ControlPlane;

struct WorkerContext {
  net::any_io_executor executor;
  Sweeper& sweeper;
  UpstreamPool& pool;
  WorkerStats& stats;
  AccessLogBuffer& externalLog;
  AccessLogBuffer& internalLog;
  std::shared_ptr<const Snapshot> snapshot;
  // The control thread's objects; requests for them hop there (co_spawn) and back.
  ControlPlane* controlPlane = nullptr;
  auth::Authority* authority = nullptr;  // master only
  net::any_io_executor control{};
};

}  // namespace kgate
