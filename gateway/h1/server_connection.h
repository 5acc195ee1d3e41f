// An HTTP/1.1 downstream connection: reads requests one after another (pipelined ones wait
// their turn), hands each to the StreamHandler as a ServerStream, and writes the responses.
// While idle it holds no buffers; it waits for readability first and allocates on demand.
#pragma once

#include <memory>
#include <optional>

#include "gateway/connection.h"
#include "gateway/h1/parser.h"
#include "gateway/read_buffer.h"
#include "gateway/transport.h"

namespace kgate::h1 {

class ServerConnection final : public Drainable {
 public:
  // buf may already hold bytes read while sniffing the protocol.
  ServerConnection(std::unique_ptr<Transport> transport, ReadBuffer buf, ConnectionEnv env);
  ~ServerConnection();

  awaitable<void> run();

  void drain() override;
  void terminate() override;

 private:
  class Stream;
  enum class Phase { Idle, ReadingHead, Active };

  awaitable<void> replyAndClose(int status, std::string_view cause);
  awaitable<bool> discardBody(Stream& stream);
  void onDeadline();

  std::unique_ptr<Transport> transport_;
  ReadBuffer buf_;
  ConnectionEnv env_;
  Deadline deadline_;
  Phase phase_ = Phase::Idle;
  bool draining_ = false;
  bool timedOut_ = false;
  bool firstRequest_ = true;
  std::optional<RequestParser> parser_;
  ServerStream* active_ = nullptr;  // the request being served, for terminate()
};

}  // namespace kgate::h1
