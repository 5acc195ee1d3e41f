// A blocking HTTP(S) client for the CLI and for a lite's start-up (probe the master, register).
// It runs kgate's own transport, codecs and upstream pool on a private io_context, so there is
// one HTTP implementation in the binary. Network and TLS failures are Failures (the caller may
// retry them); any HTTP answer, whatever its status, is a SyncResponse.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "conf/result.h"
#include "gateway/asio.h"

namespace kgate {

class UpstreamPool;
class Sweeper;

struct SyncRequest {
  std::string method = "GET";
  std::string url;  // http[s]://host[:port][/path]
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  std::chrono::milliseconds timeout{10000};  // the whole exchange
  bool verifyPeer = false;
  std::string caPem{};                        // trust anchors when verifyPeer
  std::string clientCertPem{}, clientKeyPem{};
  std::string serverName{};                   // name to verify instead of the URL's host
  size_t maxBody = 16 * 1024 * 1024;
};

struct SyncResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// retryable (optional) is set for failures worth another attempt later: refused, unreachable,
// timed out, reset. A TLS failure or a bad URL is not: trying again changes nothing.
Result<SyncResponse> httpRequest(const SyncRequest& request, bool* retryable = nullptr);

// The same exchange for a coroutine on an io_context that has a Sweeper and an UpstreamPool
// (the control thread): keep-alive connections in `pool` are reused.
awaitable<Result<SyncResponse>> httpRequestAsync(UpstreamPool& pool, Sweeper& sweeper,
                                                 const SyncRequest& request,
                                                 bool* retryable = nullptr);

// A response body's first line, cut at `max` bytes (then "..."), for a one-line error message.
std::string firstLineOf(const std::string& body, size_t max);

}  // namespace kgate
