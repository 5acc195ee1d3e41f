// HTTP/1.1 requests as a downstream client sends them: request line, headers, Content-Length
// and chunked bodies, trailers, pipelined requests, through kgate's parser and server
// connection (h1/parser.cc, h1/server_connection.cc) with small header limits.
#include "gateway/h1/server_connection.h"
#include "test/fuzz/connection_driver.h"

using namespace kgate;

namespace {

// A named function, not a lambda: GCC 12 emits a coroutine lambda inside an extern "C"
// function twice under one symbol.
awaitable<void> serve(std::unique_ptr<Transport> t, ConnectionEnv env) {
  h1::ServerConnection connection(std::move(t), ReadBuffer{}, std::move(env));
  co_await connection.run();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::driveConnection(data, size, serve);
  return 0;
}
