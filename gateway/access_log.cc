#include "gateway/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace kgate {
namespace {

constexpr size_t kFlushAt = 32 * 1024;

void appendField(std::string& out, std::string_view v) {
  if (v.empty()) {
    out.push_back('-');
    return;
  }
  // Keep one record per line, and its fields where a parser expects them, whatever a client
  // sends: control characters, spaces and quotes become '?'.
  for (char c : v) {
    bool unsafe = static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ' ' || c == '"';
    out.push_back(unsafe ? '?' : c);
  }
}

}  // namespace

Result<std::shared_ptr<AccessLogFile>> AccessLogFile::open(const std::string& path) {
  auto f = std::make_shared<AccessLogFile>();
  f->path_ = path;
  if (auto r = f->reopen(); !r) return fail(r.error());
  return f;
}

AccessLogFile::~AccessLogFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> AccessLogFile::reopen() {
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return fail("open " + path_ + ": " + std::strerror(errno));
  std::lock_guard lock(mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return {};
}

void AccessLogFile::append(std::string_view lines) {
  std::lock_guard lock(mu_);
  size_t off = 0;
  while (off < lines.size()) {
    ssize_t n = ::write(fd_, lines.data() + off, lines.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk must not stop the data path; the lines are lost
    off += static_cast<size_t>(n);
  }
}

void AccessLogBuffer::add(const AccessRecord& r) {
  if (!file_) return;
  time_t now = time(nullptr);
  if (now != cachedSecond_) {
    struct tm tm;
    gmtime_r(&now, &tm);
    char buf[40];
    strftime(buf, sizeof buf, "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
    cachedTime_ = buf;
    cachedSecond_ = now;
  }
  std::string& o = buf_;
  appendField(o, r.peerIp);
  o.append(" - ").append(cachedTime_).push_back(' ');
  appendField(o, r.source);
  o.push_back(' ');
  appendField(o, r.host);
  o.append(" \"");
  appendField(o, r.method);
  o.push_back(' ');
  appendField(o, r.path);
  o.push_back(' ');
  appendField(o, r.protocol);
  o.append("\" ");
  appendField(o, r.traceId);
  o.push_back(' ');
  appendField(o, r.spanId);
  char nums[160];
  std::snprintf(nums, sizeof nums, " %d ", r.status);
  o.append(nums);
  appendField(o, r.cause);
  if (r.upstreamMs >= 0)
    std::snprintf(nums, sizeof nums, " %llu %llu %.3f %.3f ",
                  static_cast<unsigned long long>(r.requestBytes),
                  static_cast<unsigned long long>(r.responseBytes), r.durationMs, r.upstreamMs);
  else
    std::snprintf(nums, sizeof nums, " %llu %llu %.3f - ",
                  static_cast<unsigned long long>(r.requestBytes),
                  static_cast<unsigned long long>(r.responseBytes), r.durationMs);
  o.append(nums);
  appendField(o, r.upstreamProtocol);
  o.push_back('\n');
  if (o.size() >= kFlushAt) flush();
}

void AccessLogBuffer::flush() {
  if (!file_ || buf_.empty()) return;
  file_->append(buf_);
  buf_.clear();
}

}  // namespace kgate
