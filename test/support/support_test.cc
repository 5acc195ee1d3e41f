// Self-test of the integration-test harness and of kgate_test_upstream.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "support/harness.h"

namespace kgate::test {
namespace {

using namespace std::chrono_literals;

// True once `pid` is gone or a zombie (in a container, orphans may never be reaped).
bool gone(pid_t pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return stat.empty() || (close != std::string::npos && stat.compare(close + 2, 1, "Z") == 0);
}

const long kFlatMemoryKb = (sanitizedBuild() ? 512 : 64) * 1024;

class UpstreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { upstream_ = new Upstream("127.0.0.1", "alpha"); }
  static void TearDownTestSuite() {
    delete upstream_;
    upstream_ = nullptr;
  }
  static long upstreamPeakKb() {
    return procStatusKb(upstream_->process().pid(), "VmHWM").value_or(-1);
  }
  static Upstream* upstream_;
  TempDir dir_;
};
Upstream* UpstreamTest::upstream_ = nullptr;

TEST_F(UpstreamTest, EchoReturnsRequestAsJson) {
  auto r = curl({"-H", "X-Test: hello", "-H", "X-Dup: a", "-H", "X-Dup: b",
                 upstream_->url("/echo/some/path?x=1&y=%20")});
  ASSERT_EQ(r.curlExit, 0) << r.curlStderr;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.httpVersion, "1.1");
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(jsonGet(r.body, {"name"}), "alpha") << r.body;
  EXPECT_EQ(jsonGet(r.body, {"method"}), "GET");
  EXPECT_EQ(jsonGet(r.body, {"target"}), "/echo/some/path?x=1&y=%20");
  EXPECT_EQ(jsonGet(r.body, {"version"}), "1.1");
  EXPECT_EQ(jsonGet(r.body, {"headers", "x-test"}), "hello");
  EXPECT_EQ(jsonGet(r.body, {"headers", "x-dup"}), "a, b");
  EXPECT_EQ(jsonGet(r.body, {"headers", "host"}), upstream_->hostPort());
  EXPECT_EQ(jsonGet(r.body, {"body_bytes"}), "0");
  EXPECT_EQ(jsonGet(r.body, {"body_sha256"}), sha256Hex(""));

  auto post = curl({"-X", "PUT", "--data-binary", "payload", upstream_->url("/anything")});
  EXPECT_EQ(jsonGet(post.body, {"method"}), "PUT");
  EXPECT_EQ(jsonGet(post.body, {"body_bytes"}), "7");
  EXPECT_EQ(jsonGet(post.body, {"body_sha256"}), sha256Hex("payload"));
}

TEST_F(UpstreamTest, StatusWithCustomHeaders) {
  auto r = curl({upstream_->url(
      "/status/503?header=Kuscia-Error-Message-Internal:db%20down&header=X-Other:%201")});
  ASSERT_EQ(r.curlExit, 0) << r.curlStderr;
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("kuscia-error-message-internal"), "db down");
  EXPECT_EQ(r.header("x-other"), "1");
  EXPECT_EQ(r.body, "status 503\n");
  EXPECT_EQ(curl({upstream_->url("/status/204")}).status, 204);
  EXPECT_EQ(curl({upstream_->url("/status/abc")}).status, 400);
}

TEST_F(UpstreamTest, BytesHaveLengthAndPattern) {
  auto r = curl({upstream_->url("/bytes/1000")});
  ASSERT_EQ(r.curlExit, 0) << r.curlStderr;
  EXPECT_EQ(r.header("content-length"), "1000");
  ASSERT_EQ(r.body.size(), 1000u);
  EXPECT_EQ(static_cast<unsigned char>(r.body[250]), 250);
  EXPECT_EQ(r.body[251], 0);
  EXPECT_EQ(r.bodySha256, patternSha256(1000));
  EXPECT_EQ(sha256Hex(r.body), patternSha256(1000));
  EXPECT_EQ(curl({upstream_->url("/bytes/0")}).bodyBytes, 0u);
  // HEAD: same headers, no body, and the connection stays usable for the next request.
  auto head = curl({"-I", upstream_->url("/bytes/1000"), upstream_->url("/bytes/10")});
  EXPECT_EQ(head.curlExit, 0) << head.curlStderr;
  EXPECT_EQ(head.header("content-length"), "10");
}

TEST_F(UpstreamTest, LargeDownloadIsStreamed) {
  const uint64_t n = 256ull << 20;
  auto r = curl({upstream_->url("/bytes/" + std::to_string(n))}, {.keepBody = false});
  ASSERT_EQ(r.curlExit, 0) << r.curlStderr;
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.bodyBytes, n);
  EXPECT_EQ(r.bodySha256, patternSha256(n));
  EXPECT_LT(upstreamPeakKb(), kFlatMemoryKb) << "upstream peak RSS in kB";
}

TEST_F(UpstreamTest, LargeUploadIsStreamed) {
  const uint64_t n = 256ull << 20;
  CurlOptions opts;
  opts.stdinPatternBytes = n;  // generated on the fly, never stored
  auto r = curl({"-X", "POST", "-T", "-", upstream_->url("/sink")}, opts);
  ASSERT_EQ(r.curlExit, 0) << r.curlStderr;
  EXPECT_EQ(jsonGet(r.body, {"body_bytes"}), std::to_string(n)) << r.body;
  EXPECT_EQ(jsonGet(r.body, {"body_sha256"}), patternSha256(n));
  EXPECT_LT(upstreamPeakKb(), kFlatMemoryKb) << "upstream peak RSS in kB";
}

TEST_F(UpstreamTest, ConcurrentConnections) {
  // A hanging connection must not hold up others; 20 delayed requests run side by side.
  Process hanging({"curl", "-sS", "-m", "60", upstream_->url("/hang")}, dir_.path());
  std::vector<std::string> args = {"--parallel", "--parallel-immediate", "--parallel-max", "20"};
  for (int i = 0; i < 20; ++i) args.push_back(upstream_->url("/delay/200"));
  auto r = curl(args);
  ASSERT_EQ(r.curlExit, 0) << r.curlStderr;
  std::string expected;
  for (int i = 0; i < 20; ++i) expected += "delayed\n";
  EXPECT_EQ(r.body, expected);
  EXPECT_TRUE(hanging.running()) << hanging.describe();
}

TEST_F(UpstreamTest, SinkHashesUpload) {
  const uint64_t n = 5'000'000;
  std::string file = dir_.file("upload.bin");
  writePatternFile(file, n);
  EXPECT_EQ(fileSha256(file), patternSha256(n));
  auto r = curl({"--data-binary", "@" + file, upstream_->url("/sink")});
  ASSERT_EQ(r.curlExit, 0) << r.curlStderr;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(jsonGet(r.body, {"body_bytes"}), std::to_string(n)) << r.body;
  EXPECT_EQ(jsonGet(r.body, {"body_sha256"}), patternSha256(n));
  // Chunked upload from stdin takes the other body-reading path.
  CurlOptions opts;
  opts.stdinText = "from stdin";
  auto chunked = curl({"-H", "Transfer-Encoding: chunked", "--data-binary", "@-",
                       upstream_->url("/sink")},
                      opts);
  EXPECT_EQ(jsonGet(chunked.body, {"body_sha256"}), sha256Hex("from stdin")) << chunked.body;
}

TEST_F(UpstreamTest, EchoBodyRoundTrip) {
  const uint64_t n = 3'000'000;
  std::string file = dir_.file("roundtrip.bin");
  writePatternFile(file, n);
  auto r = curl({"--data-binary", "@" + file, upstream_->url("/echo-body")});
  ASSERT_EQ(r.curlExit, 0) << r.curlStderr;
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.bodyBytes, n);
  EXPECT_EQ(r.bodySha256, patternSha256(n));
}

TEST_F(UpstreamTest, ChunkedDownload) {
  auto r = curl({upstream_->url("/chunked/100000?chunk=7000&delay_ms=1")});
  ASSERT_EQ(r.curlExit, 0) << r.curlStderr;
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  EXPECT_FALSE(r.hasHeader("content-length"));
  EXPECT_EQ(r.bodySha256, patternSha256(100000));
  // HTTP/1.0 has no chunking: the body is delimited by the connection close.
  auto old = curl({"--http1.0", upstream_->url("/chunked/5000")});
  EXPECT_EQ(old.httpVersion, "1.0");
  EXPECT_EQ(old.bodySha256, patternSha256(5000));
}

TEST_F(UpstreamTest, DelayAndHang) {
  auto r = curl({upstream_->url("/delay/20")});
  EXPECT_EQ(r.body, "delayed\n");
  auto hang = curl({"-m", "1", upstream_->url("/hang")});
  EXPECT_EQ(hang.curlExit, 28) << hang.curlStderr;  // curl's own timeout
  EXPECT_EQ(hang.status, 0);
}

TEST_F(UpstreamTest, ResetsGiveCurlErrors) {
  auto r = curl({upstream_->url("/reset")});
  EXPECT_NE(r.curlExit, 0);
  EXPECT_EQ(r.status, 0);
  auto mid = curl({upstream_->url("/reset-mid/100000")});
  EXPECT_NE(mid.curlExit, 0);
  EXPECT_EQ(mid.status, 200);
  EXPECT_EQ(mid.header("content-length"), "200000");
  EXPECT_LE(mid.bodyBytes, 100000u);
}

TEST_F(UpstreamTest, StatsCountKeepAlive) {
  auto before = upstream_->stats();
  // One curl with two URLs reuses its connection.
  auto r = curl({upstream_->url("/echo/1"), upstream_->url("/echo/2")});
  ASSERT_EQ(r.curlExit, 0);
  auto after = upstream_->stats();
  EXPECT_EQ(after.connectionsAccepted - before.connectionsAccepted, 2u);  // curl + stats()
  EXPECT_EQ(after.requests - before.requests, 3u);
}

TEST(UpstreamStart, FailsClearlyOnBusyPort) {
  Upstream first;
  Upstream::Options o;
  o.port = first.port();
  try {
    Upstream second(o);
    FAIL() << "second upstream started on a busy port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("kgate_test_upstream"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ddress already in use"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(first.process().stop(), 0);  // SIGTERM is a clean exit
}

TEST(ProcessTest, ExitCodeOutputEnvAndWorkDir) {
  TempDir dir;
  ProcessOptions o;
  o.env["KGATE_TEST_VALUE"] = "v1";
  o.workDir = dir.path();
  Process p({"/bin/sh", "-c", "echo out $KGATE_TEST_VALUE; pwd; echo err >&2; exit 3"},
            dir.path(), o);
  EXPECT_EQ(p.waitExit(10s), 3);
  EXPECT_FALSE(p.running());
  EXPECT_EQ(p.stdoutText(), "out v1\n" + std::filesystem::canonical(dir.path()).string() + "\n");
  EXPECT_EQ(p.stderrText(), "err\n");
  Process again({"/bin/sh", "-c", "true"}, dir.path(), {.name = "sh"});
  EXPECT_NE(again.stdoutPath(), p.stdoutPath());  // same stem, distinct log files
}

TEST(ProcessTest, SignalsAndKill) {
  TempDir dir;
  Process p({"sleep", "1000"}, dir.path());
  EXPECT_TRUE(p.running());
  EXPECT_FALSE(p.waitExit(50ms));
  EXPECT_TRUE(p.signal(SIGTERM));
  EXPECT_EQ(p.waitExit(10s), 128 + SIGTERM);
  EXPECT_FALSE(p.signal(SIGTERM));

  Process q({"sleep", "1000"}, dir.path());
  q.kill();
  EXPECT_EQ(q.exitCode(), 128 + SIGKILL);
  Process r({"sh", "-c", "trap '' TERM; echo ready; sleep 1000 & wait"}, dir.path());
  ASSERT_TRUE(r.waitForOutput("ready", 10s)) << r.describe();
  EXPECT_EQ(r.stop(100ms), 128 + SIGKILL);  // ignored SIGTERM, so it was killed
}

TEST(ProcessTest, DestructorKillsProcessGroup) {
  TempDir dir;
  pid_t child = 0, grandchild = 0;
  {
    Process p({"sh", "-c", "sleep 1000 & echo $!; wait"}, dir.path());
    child = p.pid();
    ASSERT_TRUE(waitUntil([&] { return !p.stdoutText().empty(); }, 10s)) << p.describe();
    grandchild = std::stoi(p.stdoutText());
    Process moved(std::move(p));  // ownership moves; p's destructor must not kill
    EXPECT_TRUE(moved.running());
  }
  EXPECT_TRUE(waitUntil([&] { return gone(child) && gone(grandchild); }, 10s));
}

TEST(ProcessTest, StartFailureIsClear) {
  TempDir dir;
  try {
    Process p({"/nonexistent/kgate-binary", "--flag"}, dir.path());
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/kgate-binary --flag"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(run({"/nonexistent/kgate-binary"}), std::runtime_error);
}

TEST(RunTest, CapturesBothStreamsAndStdin) {
  auto r = run({"sh", "-c", "head -c 3000000 /dev/zero; head -c 2000000 /dev/zero >&2; exit 4"});
  EXPECT_EQ(r.exitCode, 4);
  EXPECT_EQ(r.out.size(), 3000000u);
  EXPECT_EQ(r.err.size(), 2000000u);
  std::string input(2'000'000, 'x');
  auto cat = run({"cat"}, 30s, input);
  EXPECT_EQ(cat.exitCode, 0);
  EXPECT_EQ(cat.out, input);
  auto early = run({"true"}, 30s, input);  // never reads stdin: EPIPE, not SIGPIPE
  EXPECT_EQ(early.exitCode, 0);
  EXPECT_EQ(run({"sh", "-c", "echo $A"}, 30s, "", {{"A", "b"}}).out, "b\n");
}

TEST(RunTest, TimeoutKills) {
  auto r = run({"sleep", "30"}, 200ms);
  EXPECT_EQ(r.exitCode, -1);
}

TEST(TempDirTest, RemovedOnDestruction) {
  const char* keep = std::getenv("KGATE_KEEP_TEST_DIRS");
  if (keep && std::string(keep) == "1") GTEST_SKIP() << "KGATE_KEEP_TEST_DIRS=1 keeps them";
  std::string path;
  {
    TempDir dir("support-test");
    path = dir.path();
    std::filesystem::create_directories(dir.file("a/b"));
    writeFile(dir.file("a/b/c.txt"), "x");
    TempDir moved(std::move(dir));
    EXPECT_EQ(moved.path(), path);
    EXPECT_TRUE(std::filesystem::exists(path + "/a/b/c.txt"));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(PortTest, FreePortsAreDistinctAndBindable) {
  auto ports = freePorts(5, "127.0.0.2");
  EXPECT_EQ(std::set<uint16_t>(ports.begin(), ports.end()).size(), 5u);
  for (auto port : ports) EXPECT_FALSE(canConnect("127.0.0.2", port));
  EXPECT_FALSE(waitForPort("127.0.0.1", freePort(), 100ms));
  Upstream up("127.0.0.3", "third");
  EXPECT_TRUE(waitForPort("127.0.0.3", up.port(), 1s));
  EXPECT_EQ(jsonGet(curl({up.url("/echo")}).body, {"name"}), "third");
}

TEST(JsonTest, Lookup) {
  std::string j = R"({"a": {"b": [1, {"c": "x\"\u00e9"}], "d": null}, "e": true, "f": -1.5e3})";
  EXPECT_EQ(jsonGet(j, {"a", "b", "0"}), "1");
  EXPECT_EQ(jsonGet(j, {"a", "b", "1", "c"}), "x\"\xc3\xa9");
  EXPECT_EQ(jsonGet(j, {"a", "d"}), "null");
  EXPECT_EQ(jsonGet(j, {"e"}), "true");
  EXPECT_EQ(jsonGet(j, {"f"}), "-1.5e3");
  EXPECT_FALSE(jsonGet(j, {"a"}));
  EXPECT_FALSE(jsonGet(j, {"missing"}));
  EXPECT_FALSE(jsonGet("not json", {"a"}));
}

}  // namespace
}  // namespace kgate::test
