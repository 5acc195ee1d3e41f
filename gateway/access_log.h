// Access logs: one line per request, external.log and internal.log in the log directory.
// Each worker formats into its own buffer and appends whole buffers with one write(2) on an
// O_APPEND descriptor, so lines from different workers never interleave and the data path makes
// no syscall per request. Fields (space separated, "-" when empty):
//   peer-ip - [time] source host "METHOD path PROTOCOL" trace-id span-id status cause
//   request-body-bytes response-body-bytes duration-ms upstream-ms upstream-protocol
// Never a header value other than those named: no token, key or cookie reaches the log.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "conf/result.h"

namespace kgate {

class AccessLogFile {
 public:
  static Result<std::shared_ptr<AccessLogFile>> open(const std::string& path);
  ~AccessLogFile();
  void append(std::string_view lines);
  Result<void> reopen();  // after log rotation (SIGHUP)
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::mutex mu_;  // guards fd_ against reopen only
  int fd_ = -1;
};

struct AccessRecord {
  std::string_view peerIp, source, host, method, path, protocol, traceId, spanId, cause;
  std::string_view upstreamProtocol;
  int status = 0;
  uint64_t requestBytes = 0, responseBytes = 0;
  double durationMs = 0;
  double upstreamMs = -1;  // < 0: no upstream
};

class AccessLogBuffer {
 public:
  explicit AccessLogBuffer(std::shared_ptr<AccessLogFile> file) : file_(std::move(file)) {}
  void add(const AccessRecord& r);
  void flush();
  bool enabled() const { return file_ != nullptr; }

 private:
  std::shared_ptr<AccessLogFile> file_;
  std::string buf_;
  long cachedSecond_ = -1;
  std::string cachedTime_;
};

}  // namespace kgate
