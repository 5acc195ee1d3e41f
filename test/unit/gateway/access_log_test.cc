#include "gateway/access_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace kgate {
namespace {

namespace fs = std::filesystem;

class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kgate-access-log-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "external.log").string();
    auto f = AccessLogFile::open(path_);
    ASSERT_TRUE(f.ok()) << f.error();
    file_ = *f;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string contents(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string contents() { return contents(path_); }

  static AccessRecord full() {
    AccessRecord r;
    r.peerIp = "10.1.2.3";
    r.source = "bob";
    r.host = "svc.alice.svc";
    r.method = "GET";
    r.path = "/x?y=1";
    r.protocol = "HTTP/1.1";
    r.traceId = "463ac35c9f6413ad";
    r.spanId = "72485a3953bb6124";
    r.status = 200;
    r.cause = "via_upstream";
    r.requestBytes = 12;
    r.responseBytes = 3456;
    r.durationMs = 1.5;
    r.upstreamMs = 0.25;
    r.upstreamProtocol = "http/1.1";
    return r;
  }

  static constexpr const char* kTime = R"(\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\])";

  fs::path dir_;
  std::string path_;
  std::shared_ptr<AccessLogFile> file_;
};

TEST_F(AccessLogTest, OneLineWithEveryField) {
  AccessLogBuffer buf(file_);
  EXPECT_TRUE(buf.enabled());
  buf.add(full());
  buf.flush();
  std::string line = contents();
  std::regex re(std::string(R"(10\.1\.2\.3 - )") + kTime +
                R"( bob svc\.alice\.svc "GET /x\?y=1 HTTP/1\.1" 463ac35c9f6413ad 72485a3953bb6124)"
                R"( 200 via_upstream 12 3456 1\.500 0\.250 http/1\.1\n)");
  EXPECT_TRUE(std::regex_match(line, re)) << line;
}

TEST_F(AccessLogTest, EmptyFieldsAreDashes) {
  AccessLogBuffer buf(file_);
  AccessRecord r;
  r.status = 401;
  r.cause = "no_source";
  r.durationMs = 0.125;
  buf.add(r);  // no upstream: upstreamMs < 0
  buf.flush();
  std::string line = contents();
  std::regex re(std::string("- - ") + kTime + R"( - - "- - -" - - 401 no_source 0 0 0\.125 - -\n)");
  EXPECT_TRUE(std::regex_match(line, re)) << line;
}

TEST_F(AccessLogTest, ControlCharactersSpacesAndQuotesAreReplaced) {
  AccessLogBuffer buf(file_);
  AccessRecord r = full();
  r.source = "bob\r\nFAKE 10.0.0.1 - [x]";
  r.path = "/a\tb\x7f" "c\x01";
  r.host = std::string_view("h\0st", 4);
  buf.add(r);
  buf.flush();
  std::string text = contents();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;  // still one record
  // Spaces too: a client-chosen value must not shift the fields after it.
  EXPECT_NE(text.find(" bob??FAKE?10.0.0.1?-?[x] "), std::string::npos) << text;
  EXPECT_NE(text.find(" h?st "), std::string::npos) << text;
  EXPECT_NE(text.find("\"GET /a?b?c? HTTP/1.1\""), std::string::npos) << text;
  for (char c : text.substr(0, text.size() - 1))
    EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << int(c);
}

TEST_F(AccessLogTest, Utf8IsKeptAsIs) {
  AccessLogBuffer buf(file_);
  AccessRecord r = full();
  r.path = "/caf\xC3\xA9";
  buf.add(r);
  buf.flush();
  EXPECT_NE(contents().find("/caf\xC3\xA9 "), std::string::npos);
}

TEST_F(AccessLogTest, NothingIsWrittenBeforeFlush) {
  AccessLogBuffer buf(file_);
  buf.add(full());
  buf.add(full());
  EXPECT_EQ(fs::file_size(path_), 0u);
  buf.flush();
  std::string text = contents();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  buf.flush();  // nothing new: nothing written
  EXPECT_EQ(contents(), text);
}

TEST_F(AccessLogTest, FlushesByItselfAt32KiB) {
  AccessLogBuffer buf(file_);
  AccessRecord r = full();
  std::string longPath = "/" + std::string(4000, 'p');
  r.path = longPath;
  size_t lines = 0;
  while (fs::file_size(path_) == 0 && lines < 100) {
    buf.add(r);
    ++lines;
  }
  ASSERT_GT(fs::file_size(path_), 0u);
  // Every line so far went out in one write, and the buffer had reached 32 KiB, not before.
  std::string text = contents();
  EXPECT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')), lines);
  EXPECT_GE(text.size(), 32u * 1024);
  size_t lineSize = text.size() / lines;
  EXPECT_LT(text.size() - lineSize, 32u * 1024);
  // The buffer is empty again.
  buf.flush();
  EXPECT_EQ(contents(), text);
}

TEST_F(AccessLogTest, LinesFromTwoBuffersAppendInFlushOrder) {
  AccessLogBuffer a(file_), b(file_);
  AccessRecord ra = full(), rb = full();
  ra.source = "aaa";
  rb.source = "bbb";
  a.add(ra);
  b.add(rb);
  b.flush();
  a.flush();
  std::string text = contents();
  auto nl = text.find('\n');
  ASSERT_NE(nl, std::string::npos);
  EXPECT_NE(text.substr(0, nl).find(" bbb "), std::string::npos);
  EXPECT_NE(text.substr(nl + 1).find(" aaa "), std::string::npos);
}

TEST_F(AccessLogTest, ExistingFileIsAppendedTo) {
  { std::ofstream(path_) << "old line\n"; }
  AccessLogBuffer buf(file_);
  buf.add(full());
  buf.flush();
  std::string text = contents();
  EXPECT_EQ(text.rfind("old line\n", 0), 0u);
  EXPECT_NE(text.find("10.1.2.3 - ["), std::string::npos);
}

TEST_F(AccessLogTest, ReopenFollowsARotation) {
  AccessLogBuffer buf(file_);
  buf.add(full());
  buf.flush();
  std::string rotated = (dir_ / "external.log.1").string();
  fs::rename(path_, rotated);
  ASSERT_TRUE(file_->reopen().ok());
  buf.add(full());
  buf.flush();
  std::string a = contents(rotated), b = contents(path_);
  EXPECT_EQ(std::count(a.begin(), a.end(), '\n'), 1);
  EXPECT_EQ(std::count(b.begin(), b.end(), '\n'), 1);
}

TEST_F(AccessLogTest, OpenFailsClearly) {
  auto f = AccessLogFile::open((dir_ / "missing" / "x.log").string());
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().find("missing/x.log"), std::string::npos) << f.error();
}

TEST(AccessLogBufferDisabled, WithoutAFileNothingHappens) {
  AccessLogBuffer buf(nullptr);
  EXPECT_FALSE(buf.enabled());
  AccessRecord r;
  buf.add(r);
  buf.flush();
}

}  // namespace
}  // namespace kgate
