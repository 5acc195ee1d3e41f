// Bodies stream through two gateways: a GiB each way with flat memory, and a client that stops
// reading slows the whole chain down instead of filling the gateways' memory.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "integration/node.h"

namespace kgate::test {
namespace {

constexpr uint64_t kGiB = 1ull << 30;
// Peak RSS allowed for a gateway that moved a GiB: buffers are bounded per stream (HTTP/2
// windows of 1 MiB per stream and 4 MiB per connection, read buffers of at most 128 KiB), not
// per body.
constexpr long kMaxPeakKb = 64 * 1024;
// AddressSanitizer's shadow memory and quarantine alone exceed that bound. The plain build of
// these tests (also in .ci/run) checks memory and moves the whole GiB; the sanitized one checks
// correctness, for which a quarter of it takes every code path the GiB does, in a quarter of the
// CPU (the sanitized pass is CI's longest step).
const bool kCheckMemory = !sanitizedBuild();
const uint64_t kBodyBytes = sanitizedBuild() ? kGiB / 4 : kGiB;

class Streaming : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    upstream_.emplace(Upstream::Options{.ip = "127.0.0.3", .name = "bob-echo"});
    alice_.emplace(dir_, NodeSpec{.domain = "alice", .ip = "127.0.0.2", .protocol = "NOTLS"});
    bob_.emplace(dir_, NodeSpec{.domain = "bob", .ip = "127.0.0.3", .protocol = "TLS"});
    connectPeers(*alice_, *bob_, GetParam());
    bob_->appendConfig("services:\n  echo: " + upstream_->url());
    alice_->start();
    bob_->start();
  }

  void expectFlatMemory() {
    if (!kCheckMemory) return;
    for (Node* n : {&*alice_, &*bob_}) {
      auto peak = procStatusKb(n->process().pid(), "VmHWM");
      ASSERT_TRUE(peak.has_value());
      EXPECT_LT(*peak, kMaxPeakKb) << n->domain() << " peak RSS " << *peak << " kB";
    }
  }

  TempDir dir_;
  std::optional<Upstream> upstream_;
  std::optional<Node> alice_, bob_;
};

TEST_P(Streaming, OneGibDownload) {
  auto r = curl({alice_->internalUrl("/bytes/" + std::to_string(kBodyBytes)), "-H",
                 "Host: echo.bob.svc"},
                CurlOptions{.keepBody = false});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.bodyBytes, kBodyBytes);
  EXPECT_EQ(r.bodySha256, patternSha256(kBodyBytes));
  expectFlatMemory();
}

TEST_P(Streaming, OneGibUpload) {
  auto r = curl({alice_->internalUrl("/sink"), "-H", "Host: echo.bob.svc", "-X", "POST", "-T", "-"},
                CurlOptions{.stdinPatternBytes = kBodyBytes});
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(jsonGet(r.body, {"body_bytes"}), std::to_string(kBodyBytes));
  EXPECT_EQ(jsonGet(r.body, {"body_sha256"}), patternSha256(kBodyBytes));
  expectFlatMemory();
}

// A raw HTTP/1.1 client that can stop reading.
class SlowReader {
 public:
  SlowReader(const std::string& ip, uint16_t port, const std::string& request) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 64 * 1024;  // keep the kernel from absorbing much on our side
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("connect failed");
    ::send(fd_, request.data(), request.size(), 0);
  }
  ~SlowReader() { ::close(fd_); }
  // Reads up to n bytes (or until EOF); returns how many.
  uint64_t read(uint64_t n) {
    std::vector<char> buf(256 * 1024);
    uint64_t got = 0;
    while (got < n) {
      ssize_t k = ::recv(fd_, buf.data(), std::min<uint64_t>(buf.size(), n - got), 0);
      if (k <= 0) break;
      if (start_.size() < 4096) start_.append(buf.data(), std::min<size_t>(k, 4096));
      got += static_cast<uint64_t>(k);
    }
    return got;
  }

 private:
  int fd_ = -1;
  std::string start_;

 public:
  // Length of the response head, from the first bytes read.
  uint64_t headLength() const { return start_.find("\r\n\r\n") + 4; }
};

TEST_P(Streaming, SlowReaderSlowsTheSenderInsteadOfFillingMemory) {
  SlowReader client("127.0.0.2", alice_->internalPort(),
                    "GET /bytes/" + std::to_string(kBodyBytes) +
                        " HTTP/1.1\r\nHost: echo.bob.svc\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(client.read(1 << 20), 1u << 20);
  // The client now reads nothing. If any gateway buffered instead of pushing back, its memory
  // would grow towards the GiB the service is trying to send. Watch it for a while.
  long worst = 0;
  waitUntil(
      [&] {
        for (Node* n : {&*alice_, &*bob_})
          worst = std::max(worst, procStatusKb(n->process().pid(), "VmRSS").value_or(0));
        return false;
      },
      std::chrono::seconds(2), std::chrono::milliseconds(100));
  if (kCheckMemory) {
    EXPECT_LT(worst, kMaxPeakKb) << "a gateway grew to " << worst << " kB while the client paused";
  }
  // Reading again drains the rest: nothing was lost while paused.
  EXPECT_EQ(client.read(2 * kBodyBytes), kBodyBytes + client.headLength() - (1u << 20))
      << "the response (head + body) must arrive whole";
  expectFlatMemory();
}

INSTANTIATE_TEST_SUITE_P(PeerProtocol, Streaming, ::testing::Values("http1", "http2"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kgate::test
