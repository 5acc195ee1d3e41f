// The open-file limit at start-up. Every downstream connection is a descriptor (and a proxied
// HTTP/1.1 one holds an upstream connection too), so the usual soft limit of 1024 would cap a
// node far below limits.maxConnections: accepts would fail with EMFILE instead.
#pragma once

#include <cstdint>

namespace kgate {

struct FileLimit {
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// Descriptors a node needs beyond its downstream connections: listeners, upstream connections,
// log files, the store, the CLI's and the master's connections.
constexpr uint64_t kFileLimitHeadroom = 1024;

// Raises the soft RLIMIT_NOFILE to the hard limit (the kernel's nr_open when the hard limit is
// unlimited) and returns the limits in force afterwards.
FileLimit raiseFileLimit();

}  // namespace kgate
