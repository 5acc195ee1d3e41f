#include "gateway/fd_limit.h"

#include <sys/resource.h>

#include <fstream>

namespace kgate {
namespace {

// The most a process may open (fs.nr_open); RLIMIT_NOFILE cannot go above it.
rlim_t kernelMax() {
  std::ifstream in("/proc/sys/fs/nr_open");
  unsigned long long n = 0;
  if (in >> n && n > 0) return static_cast<rlim_t>(n);
  return 1 << 20;  // the kernel's default nr_open
}

}  // namespace

FileLimit raiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return {};
  rlim_t want = rl.rlim_max == RLIM_INFINITY ? kernelMax() : rl.rlim_max;
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur < want) {
    rlimit raised{want, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl.rlim_cur = want;
  }
  auto value = [](rlim_t v) { return v == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(v); };
  return {value(rl.rlim_cur), value(rl.rlim_max)};
}

}  // namespace kgate
