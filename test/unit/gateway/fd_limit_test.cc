#include "gateway/fd_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace kgate {
namespace {

TEST(FileLimit, TheSoftLimitIsRaisedToTheHardOne) {
  rlimit rl{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max <= 64) GTEST_SKIP() << "hard limit too low";
  rlimit low{64, rl.rlim_max};  // as a service manager's default soft limit would leave it
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);

  FileLimit now = raiseFileLimit();

  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_GT(after.rlim_cur, 64u);
  EXPECT_EQ(now.soft, after.rlim_cur);
  if (rl.rlim_max != RLIM_INFINITY) {
    EXPECT_EQ(after.rlim_cur, rl.rlim_max);
    EXPECT_EQ(now.hard, rl.rlim_max);
  }
  EXPECT_EQ(after.rlim_max, rl.rlim_max);  // the hard limit is the operator's, left alone
}

}  // namespace
}  // namespace kgate
