// HTTP/2 frames after the client connection preface, as kgate's server session reads them
// (h2/server_session.cc over h2/server_connection.cc): header limits, flow control with
// windows returned as handlers read, trailers, resets and GOAWAY, and the flood checks, with
// small limits (8 streams, 4 KiB window, 2 KiB of headers).
#include <cstring>

#include "gateway/h2/server_session.h"
#include "test/fuzz/connection_driver.h"

using namespace kgate;

namespace {

// A named function, not a lambda: see h1_request.cc.
awaitable<void> serve(std::unique_ptr<Transport> t, ConnectionEnv env) {
  // The listener hands the session the preface it sniffed; the input is what follows it.
  static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  ReadBuffer initial;
  auto space = initial.prepare(kPreface.size(), kPreface.size());
  std::memcpy(space.data(), kPreface.data(), kPreface.size());
  initial.commit(kPreface.size());
  auto session = std::make_shared<h2::ServerSession>(std::move(t), std::move(env));
  co_await session->serve(std::move(initial));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::driveConnection(data, size, serve);
  return 0;
}
