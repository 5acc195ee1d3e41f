// HTTP/2 to an upstream: one multiplexed connection that many proxied streams share.
#pragma once

#include "gateway/h2/session.h"
#include "gateway/stream.h"

namespace kgate::h2 {

class ClientSession final : public Session {
 public:
  // host is sent as :authority; scheme as :scheme.
  ClientSession(std::unique_ptr<Transport> transport, Sweeper& sweeper, SessionOptions options,
                std::string authority, std::string scheme);

  // Room for one more stream: alive, no GOAWAY from the peer, under its concurrency limit.
  bool canOpen();
  std::unique_ptr<ClientStream> openStream();
  unsigned streamsOpened() const { return opened_; }

 private:
  class Stream;
  std::string authority_;
  std::string scheme_;
  unsigned opened_ = 0;
};

}  // namespace kgate::h2
